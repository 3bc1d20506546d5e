"""Bindings (protocol §2a): the vector in tests/vectors/bindings, and every refusal of the file."""

import hashlib
import re
from pathlib import Path

import pytest

from lottery.bindings import binding, bindings_digest, bindings_file, new_salt, parse_bindings
from lottery.canonical import load_json
from lottery.errors import ProtocolError
from lottery.population import parse_population

VECTORS = Path(__file__).parents[1] / "vectors"
BINDINGS = VECTORS / "bindings"
CASE = VECTORS / "draw" / "timed-bindings-244"
POPULATION = parse_population((CASE / "population.tsv").read_bytes())
DECLARANTS = [line.split("\t") for line in (BINDINGS / "declarants.tsv").read_text().splitlines()]
FILE = (BINDINGS / "bindings.tsv").read_bytes()


def test_each_binding_of_the_vector_recomputes() -> None:
    pairs = [(case_id, binding(case_id, salt, identity)) for case_id, salt, identity in DECLARANTS]
    assert len(pairs) == 244
    assert bindings_file(pairs) == FILE


def test_the_digest_is_the_one_the_vector_announcement_carries() -> None:
    digest = (BINDINGS / "bindings_digest").read_text().strip()
    announcement = load_json((CASE / "announcement.json").read_bytes(), "announcement")
    assert bindings_digest(FILE) == hashlib.sha256(FILE).hexdigest() == digest
    assert announcement["population"]["bindings_digest"] == digest


def test_the_shell_line_of_the_spec() -> None:
    # printf 'sunshine-draw/1 binding\n%s\n%s\n%s\n' ID SALT IDENTITY | sha256sum
    case_id, salt, identity = DECLARANTS[0]
    text = f"sunshine-draw/1 binding\n{case_id}\n{salt}\n{identity}\n".encode()
    assert binding(case_id, salt, identity) == hashlib.sha256(text).hexdigest()


def test_parse_bindings_reads_the_vector_in_population_order() -> None:
    parsed = parse_bindings(FILE, POPULATION)
    assert list(parsed) == [entry_id for entry_id, _ in POPULATION.entries()]
    assert parsed["114-0001"] == FILE.split(b"\n")[0].split(b"\t")[1].decode()


def test_new_salt_is_32_hex_and_fresh() -> None:
    salts = {new_salt() for _ in range(50)}
    assert len(salts) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", salt) for salt in salts)


LINES = FILE.split(b"\n")[:-1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "has 0 lines, the population 244"),
        (b"\n".join(LINES), "does not end with a line feed"),
        (b"\n".join(LINES[:-1]) + b"\n", "has 243 lines"),
        (FILE + LINES[0] + b"\n", "has 245 lines"),
        (b"\n".join([LINES[1], LINES[0], *LINES[2:]]) + b"\n", "line 1 is 114-0002, the population has 114-0001"),
        (FILE.replace(LINES[3], LINES[3].upper()), "line 4 must be <id><TAB><64 lowercase hex>"),
        (FILE.replace(LINES[3], LINES[3][:-1]), "line 4 must be"),
        (FILE.replace(LINES[3], LINES[3].replace(b"\t", b" ")), "line 4 must be"),
        (FILE.replace(LINES[3], LINES[3] + b"\r"), "line 4 must be"),
        (FILE.replace(LINES[3] + b"\n", LINES[3] + b"\n\n"), "line 5 must be"),
    ],
    ids=["empty", "no-final-newline", "short", "extra", "order", "upper", "short-hex", "space", "crlf", "blank"],
)
def test_parse_bindings_refuses(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        parse_bindings(data, POPULATION)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bad id", "0" * 32, "A123456789"), "not a valid case number"),
        (("114-0001", "0" * 31, "A123456789"), "salt must be 32 lowercase hex"),
        (("114-0001", "A" * 32, "A123456789"), "salt must be 32 lowercase hex"),
        (("114-0001", "0" * 32, ""), "identity must be non-empty"),
        (("114-0001", "0" * 32, "A1\n23"), "identity must be non-empty"),
    ],
)
def test_binding_refuses_malformed_parts(args: tuple[str, str, str], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        binding(*args)


def test_bindings_file_refuses_malformed_pairs() -> None:
    with pytest.raises(ProtocolError, match="must be 64 lowercase hex"):
        bindings_file([("114-0001", "x")])
    with pytest.raises(ProtocolError, match="not a valid case number"):
        bindings_file([("a\tb", "0" * 64)])
