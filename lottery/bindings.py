"""Bindings (protocol §2a): which case number is whose, committed at the announcement but not disclosed.

`binding(id) = hex(sha256("sunshine-draw/1 binding\\n" || id || "\\n" || salt_hex || "\\n" ||
identity || "\\n"))`. The office draws one 128-bit salt per entry (`new_salt`), publishes
`bindings.tsv` (`bindings_file`: one `<id>\\t<binding>\\n` line per population entry, in
population order) and announces its SHA-256 as `population.bindings_digest`. A verifier reads the
file back with `parse_bindings`, which refuses anything that is not exactly that shape.
"""

import hashlib
import re
import secrets
from collections.abc import Iterable

from lottery.errors import ProtocolError
from lottery.population import ID_PATTERN, Population

BINDING_PREFIX = b"sunshine-draw/1 binding\n"
_SALT = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_LINE = re.compile(rb"([A-Za-z0-9][A-Za-z0-9._-]{0,63})\t([0-9a-f]{64})")


class BindingsError(ProtocolError):
    """A bindings file or one of its parts is malformed (protocol §2a)."""


def new_salt() -> str:
    """A fresh salt: 32 lowercase hex characters (16 bytes from `secrets`)."""
    return secrets.token_hex(16)


def binding(case_id: str, salt_hex: str, identity: str) -> str:
    """The binding of one entry (protocol §2a), 64 lowercase hex characters.

    Inputs: the case number `case_id`, its 32-hex `salt_hex`, and the declarant's `identity` in
    canonical form (e.g. `A123456789`). Raises `BindingsError` for a malformed id or salt, or an
    identity that is empty or holds a line feed (it would make the hashed text ambiguous).
    """
    if not ID_PATTERN.fullmatch(case_id) or not case_id.isascii():
        raise BindingsError(f"binding: id {case_id!r} is not a valid case number")
    if not _SALT.fullmatch(salt_hex):
        raise BindingsError("binding: the salt must be 32 lowercase hex characters")
    if not identity or "\n" in identity:
        raise BindingsError("binding: the identity must be non-empty and on one line")
    material = BINDING_PREFIX + f"{case_id}\n{salt_hex}\n{identity}\n".encode()
    return hashlib.sha256(material).hexdigest()


def bindings_file(pairs: Iterable[tuple[str, str]]) -> bytes:
    """The bytes of `bindings.tsv`: one `<id>\\t<binding>\\n` line per `(id, binding)` pair.

    The pairs must already be in population order; they are written as given. Raises
    `BindingsError` for a malformed id or binding.
    """
    lines: list[str] = []
    for case_id, value in pairs:
        if not ID_PATTERN.fullmatch(case_id) or not case_id.isascii():
            raise BindingsError(f"bindings.tsv: id {case_id!r} is not a valid case number")
        if not _HEX64.fullmatch(value):
            raise BindingsError(f"bindings.tsv: the binding of {case_id} must be 64 lowercase hex characters")
        lines.append(f"{case_id}\t{value}\n")
    return "".join(lines).encode("ascii")


def bindings_digest(data: bytes) -> str:
    """`population.bindings_digest` for the bytes of a bindings file: hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def parse_bindings(data: bytes, population: Population) -> dict[str, str]:
    """Read a `bindings.tsv` for `population` and return `{id: binding}` (in population order).

    Raises `BindingsError` naming the first line that is malformed, whose id is not the
    population's id on that line, or that is missing or extra.
    """
    if data and not data.endswith(b"\n"):
        raise BindingsError("bindings.tsv does not end with a line feed")
    lines = data.split(b"\n")[:-1] if data else []
    result: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        match = _LINE.fullmatch(line)
        if match is None:
            raise BindingsError(f"bindings.tsv line {number} must be <id><TAB><64 lowercase hex>")
        if number > population.size:
            raise BindingsError(f"bindings.tsv has {len(lines)} lines, the population {population.size} entries")
        if match.group(1) != population.ids[number - 1]:
            raise BindingsError(
                f"bindings.tsv line {number} is {match.group(1).decode()}, "
                f"the population has {population.ids[number - 1].decode()} there"
            )
        result[match.group(1).decode("ascii")] = match.group(2).decode("ascii")
    if len(lines) != population.size:
        raise BindingsError(f"bindings.tsv has {len(lines)} lines, the population {population.size} entries")
    return result
