"""Bindings (SPEC §2a): which case number is whose, committed at the announcement, not disclosed.

A stand-in written for the service's branch with exactly the contract's names and meanings; the
protocol's own module (h1) replaces it at merge.
"""

import hashlib
import re
import secrets
from collections.abc import Iterable

from lottery.errors import ProtocolError
from lottery.population import Population

_PREFIX = b"sunshine-draw/1 binding\n"
_HEX64 = re.compile(rb"[0-9a-f]{64}")


def new_salt() -> str:
    """32 lowercase hex characters (16 bytes from the CSPRNG)."""
    return secrets.token_hex(16)


def binding(case_id: str, salt_hex: str, identity: str) -> str:
    """`hex(H("sunshine-draw/1 binding\\n" || id || "\\n" || salt_hex || "\\n" || identity || "\\n"))`."""
    material = _PREFIX + f"{case_id}\n{salt_hex}\n{identity}\n".encode()
    return hashlib.sha256(material).hexdigest()


def bindings_file(pairs: Iterable[tuple[str, str]]) -> bytes:
    """`(id, binding)` pairs, already in population order, as the bytes of `bindings.tsv`."""
    return "".join(f"{case_id}\t{bound}\n" for case_id, bound in pairs).encode("ascii")


def parse_bindings(data: bytes, population: Population) -> dict[str, str]:
    """The bindings by id; refuses a file whose ids or order differ from the population's."""
    lines = data.split(b"\n")
    if lines[-1] != b"":
        raise ProtocolError("bindings.tsv must end with a newline")
    lines = lines[:-1]
    if len(lines) != population.size:
        raise ProtocolError(f"bindings.tsv has {len(lines)} lines; the population has {population.size} entries")
    result: dict[str, str] = {}
    for number, (line, expected) in enumerate(zip(lines, population.ids, strict=True), start=1):
        fields = line.split(b"\t")
        if len(fields) != 2 or not _HEX64.fullmatch(fields[1]):
            raise ProtocolError(f"bindings.tsv line {number} is not <id>\\t<64 lowercase hex>")
        if fields[0] != expected:
            raise ProtocolError(f"bindings.tsv line {number} names {fields[0]!r}; the population has {expected!r}")
        result[fields[0].decode("ascii")] = fields[1].decode("ascii")
    return result
