"""A witness: remember the last checkpoint a log showed, and prove any rewrite of its history.

Each run fetches the log's signed checkpoint, verifies it with the keys the witness trusts, asks
for a consistency proof from the checkpoint it kept last time, and keeps the new one. If the
log's history was rewritten (or a different history is shown), the proof cannot exist: the
witness prints both signed checkpoints — evidence anyone can check — and exits non-zero.

The keys: on first use the log's vkey is trusted as given with `--key` (or as served, "trust on
first use"); afterwards the witness trusts only keys it learns from `key.added` entries of
checkpoints it has verified (a rotation checkpoint is signed by the old and the new key).
"""

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lottery.checkpoint import Checkpoint, open_checkpoint
from lottery.errors import ProtocolError
from lottery.merkle import leaf_hash, verify_consistency, verify_inclusion
from lottery.signing import parse_vkey

MAX_RESPONSE = 8 * 1024 * 1024
#: New entries are checked one by one (inclusion proof each) up to this many per run.
MAX_ENTRIES_CHECKED = 2000


class WitnessAlarm(Exception):
    """The log is not consistent with what it showed before; `evidence` holds both notes."""

    def __init__(self, message: str, evidence: list[str]) -> None:
        super().__init__(message)
        self.evidence = evidence


class WitnessError(Exception):
    """The witness could not do its check (network, a malformed answer, a bad state file)."""


@dataclass
class WitnessState:
    """What a witness keeps between runs."""

    base_url: str
    trusted_vkeys: list[str] = field(default_factory=list)
    size: int = 0
    root: str = ""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The state file's content."""
        return {
            "base_url": self.base_url,
            "trusted_vkeys": self.trusted_vkeys,
            "size": self.size,
            "root": self.root,
            "note": self.note,
        }


def load_state(path: Path, base_url: str) -> WitnessState:
    """Read the state file, or start a new state for `base_url`."""
    if not path.exists():
        return WitnessState(base_url=base_url)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        state = WitnessState(
            base_url=str(data["base_url"]),
            trusted_vkeys=[str(v) for v in data["trusted_vkeys"]],
            size=int(data["size"]),
            root=str(data["root"]),
            note=str(data["note"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WitnessError(f"the state file {path} is unreadable: {exc}") from None
    if state.base_url != base_url:
        raise WitnessError(f"the state file watches {state.base_url}, not {base_url}")
    return state


def save_state(path: Path, state: WitnessState) -> None:
    """Write the state atomically (a crash leaves the old state or the new one)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    temporary.replace(path)


def _fetch(base_url: str, path: str, timeout: float) -> bytes:
    url = base_url.rstrip("/") + path
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise WitnessError("the log's address must be http:// or https://")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  (scheme checked above)
            data: bytes = response.read(MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        raise WitnessError(f"{url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WitnessError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
    if len(data) > MAX_RESPONSE:
        raise WitnessError(f"{url} answered with more than {MAX_RESPONSE} bytes")
    return data


def _fetch_json(base_url: str, path: str, timeout: float) -> Any:
    try:
        return json.loads(_fetch(base_url, path, timeout))
    except ValueError:
        raise WitnessError(f"{path} did not answer JSON") from None


def _path_of(document: Any) -> list[bytes]:
    try:
        return [base64.b64decode(item, validate=True) for item in document["path"]]
    except (KeyError, TypeError, ValueError):
        raise WitnessError("a proof is malformed") from None


def check_log(state: WitnessState, key: str | None = None, timeout: float = 10.0) -> tuple[WitnessState, list[str]]:
    """One witness run. Returns the new state and what was checked (one line each).

    Raises `WitnessAlarm` with evidence when the log contradicts what it showed before.
    """
    lines: list[str] = []
    if not state.trusted_vkeys:
        vkey = key if key is not None else _fetch(state.base_url, "/keys/office.vkey", timeout).decode().strip()
        parse_vkey(vkey)
        state.trusted_vkeys = [vkey]
        lines.append(f"trusting {vkey} " + ("(given with --key)" if key else "(as served: trust on first use)"))
    verifiers = [parse_vkey(v) for v in state.trusted_vkeys]
    note = _fetch(state.base_url, "/log/checkpoint", timeout).decode("utf-8", "replace")
    try:
        checkpoint = open_checkpoint(note, verifiers)
    except ProtocolError as exc:
        raise WitnessAlarm(f"the served checkpoint is not signed by a trusted key: {exc}", [note]) from None
    lines.append(f"checkpoint of size {checkpoint.size} is signed by a trusted key")
    if state.size:
        _check_consistency(state, checkpoint, note, timeout)
        lines.append(f"consistent with the checkpoint of size {state.size} seen before")
    learned = _learn_keys(state, checkpoint, note, timeout)
    lines.extend(f"learned key from the log: {v}" for v in learned)
    state.size = checkpoint.size
    state.root = base64.b64encode(checkpoint.root).decode("ascii")
    state.note = note
    return state, lines


def _check_consistency(state: WitnessState, checkpoint: Checkpoint, note: str, timeout: float) -> None:
    old_root = base64.b64decode(state.root)
    evidence = [state.note, note]
    if checkpoint.size < state.size:
        raise WitnessAlarm(f"the log shrank from {state.size} to {checkpoint.size} entries", evidence)
    if checkpoint.size == state.size:
        if checkpoint.root != old_root:
            raise WitnessAlarm(f"two different roots were signed for size {state.size}", evidence)
        return
    proof = _fetch_json(state.base_url, f"/log/proof/consistency?first={state.size}&second={checkpoint.size}", timeout)
    try:
        verify_consistency(state.size, checkpoint.size, _path_of(proof), old_root, checkpoint.root)
    except ProtocolError as exc:
        raise WitnessAlarm(
            f"no valid consistency proof from {state.size} to {checkpoint.size}: {exc}", evidence
        ) from None


def _learn_keys(state: WitnessState, checkpoint: Checkpoint, note: str, timeout: float) -> list[str]:
    """Check each new entry's inclusion and trust keys added by the log."""
    start = state.size
    end = min(checkpoint.size, start + MAX_ENTRIES_CHECKED)
    learned: list[str] = []
    position = start
    while position < end:
        page = _fetch_json(state.base_url, f"/log/entries?start={position}&end={end}", timeout)
        if not isinstance(page, list) or not page:
            raise WitnessError("the log returned no entries where it should have some")
        for item in page:
            index, text = item.get("index"), item.get("entry")
            if index != position or not isinstance(text, str):
                raise WitnessError(f"entry {position} is missing or malformed")
            proof = _fetch_json(state.base_url, f"/log/proof/inclusion?index={index}&size={checkpoint.size}", timeout)
            try:
                verify_inclusion(
                    index, checkpoint.size, leaf_hash(text.encode("utf-8")), _path_of(proof), checkpoint.root
                )
            except ProtocolError as exc:
                raise WitnessAlarm(f"entry {index} as served is not in the signed tree: {exc}", [note]) from None
            event = json.loads(text)
            if event.get("type") == "key.added" and event.get("vkey") not in state.trusted_vkeys:
                parse_vkey(event["vkey"])
                state.trusted_vkeys.append(event["vkey"])
                learned.append(event["vkey"])
            position += 1
    return learned
