"""Read a published draw bundle's files from a folder or a zip (docs/bundle.md).

Input: a path. Output: `{file name: bytes}` of the known members, each refused when larger than
`MAX_MEMBER_BYTES`. Which of them are present is for `lottery.bundle` to judge.
"""

import zipfile
from pathlib import Path

from lottery.errors import ProtocolError

REQUIRED = ("population.tsv", "announcement.json", "announcement.json.sig", "result.json", "result.json.sig")
OPTIONAL = ("office.vkey", "checkpoint", "inclusion.json", "bindings.tsv", "events.json", "witnessed.json")
#: A bundle member larger than this is refused before it is read (zip bombs, runaway files).
MAX_MEMBER_BYTES = 512 * 1024 * 1024


def read_bundle(location: str | Path) -> dict[str, bytes]:
    """Read the bundle's known files from a folder or a zip (members may sit in one subfolder)."""
    path = Path(location)
    if path.is_dir():
        return _read_folder(path)
    try:
        return _read_zip(path)
    except FileNotFoundError:
        raise ProtocolError(f"no bundle at {location}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ProtocolError(f"{location} is neither a folder nor a readable zip: {exc}") from None


def _read_folder(path: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name in REQUIRED + OPTIONAL:
        member = path / name
        if member.is_file():
            if member.stat().st_size > MAX_MEMBER_BYTES:
                raise ProtocolError(f"{name} is larger than {MAX_MEMBER_BYTES} bytes")
            files[name] = member.read_bytes()
    return files


def _read_zip(path: Path) -> dict[str, bytes]:
    names = REQUIRED + OPTIONAL
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            if base in names and info.filename.count("/") <= 1 and base not in files:
                if info.file_size > MAX_MEMBER_BYTES:
                    raise ProtocolError(f"{base} is larger than {MAX_MEMBER_BYTES} bytes")
                with archive.open(info) as handle:
                    data = handle.read(MAX_MEMBER_BYTES + 1)
                if len(data) > MAX_MEMBER_BYTES:
                    raise ProtocolError(f"{base} is larger than {MAX_MEMBER_BYTES} bytes")
                files[base] = data
    return files
