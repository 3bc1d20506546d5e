"""The population file (protocol §2): what is accepted, what is refused and why."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery.errors import PopulationError
from lottery.population import check_id, check_stratum, parse_population, serialize_population

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
ids = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(ID_ALPHABET[:62]),
    st.text(alphabet=ID_ALPHABET, max_size=12),
)
strata = st.sampled_from(["regular", "non-regular", "a", "9-x"])
entry_lists = st.dictionaries(ids, strata, min_size=1, max_size=30).map(lambda d: list(d.items()))


def test_a_canonical_file_parses_with_its_digest_and_counts() -> None:
    data = b"114-0001\tregular\n114-0002\tnon-regular\n114-0003\tregular\n"
    population = parse_population(data)
    assert population.size == 3
    assert population.digest == hashlib.sha256(data).hexdigest()
    assert population.strata_counts() == {"non-regular": 1, "regular": 2}
    assert population.entries() == [("114-0001", "regular"), ("114-0002", "non-regular"), ("114-0003", "regular")]


def test_ids_sort_by_bytes_not_by_letters() -> None:
    # "B" (0x42) sorts before "a" (0x61), and "-" (0x2d) before "0" (0x30).
    assert serialize_population([("a", "x"), ("B", "x"), ("00", "x"), ("0-", "x")]) == b"0-\tx\n00\tx\nB\tx\na\tx\n"
    with pytest.raises(PopulationError, match=r"line 2 \(B\) is out of order"):
        parse_population(b"a\tx\nB\tx\n")


REFUSALS = [
    ("empty", b"", "population file is empty: at least one entry is required"),
    ("no-trailing-newline", b"114-0001\tregular", "line 1 does not end with a newline"),
    ("no-newline-on-last", b"114-0001\tregular\n114-0002\tregular", "line 2 does not end with a newline"),
    ("crlf", b"114-0001\tregular\r\n", r"line 1 has an invalid stratum 'regular\r'"),
    ("crlf-throughout", b"114-0001\tregular\r\n114-0002\tregular\r\n", "line 1 has an invalid stratum"),
    ("id-space", b"114 0001\tregular\n", "line 1 has an invalid id '114 0001'"),
    ("id-leading-dash", b"-114\tregular\n", "line 1 has an invalid id '-114'"),
    ("id-name", b"a\tx\n\xe7\x8e\x8b\tx\n", "line 2 has an invalid id '王'"),
    ("id-not-utf8", b"a\tx\n\xff\tx\n", "line 2 has an invalid id"),
    ("id-65-chars", b"x" * 65 + b"\tregular\n", "line 1 has an invalid id"),
    ("id-byte-order-mark", b"\xef\xbb\xbf114-0001\tregular\n", "line 1 has an invalid id"),
    ("stratum-upper", b"114-0001\tRegular\n", "line 1 has an invalid stratum 'Regular'"),
    ("stratum-leading-dash", b"114-0001\t-regular\n", "line 1 has an invalid stratum '-regular'"),
    ("stratum-33-chars", b"114-0001\t" + b"s" * 33 + b"\n", "line 1 has an invalid stratum"),
    ("stratum-empty", b"114-0001\t\n", "line 1 has an invalid stratum ''"),
    ("three-fields", b"114-0001\tregular\tx\n", "line 1 must be <id><TAB><stratum>"),
    ("space-not-tab", b"114-0001 regular\n", "line 1 must be <id><TAB><stratum>"),
    ("trailing-empty-line", b"114-0001\tregular\n\n", "line 2 is empty"),
    ("only-newline", b"\n", "line 1 is empty"),
    ("header", b"id\tstratum\n114-0001\tregular\n", "line 2 (114-0001) is out of order"),
    ("duplicate", b"114-0001\tregular\n114-0001\tregular\n", "line 2 (114-0001) repeats the id above it"),
    ("duplicate-id", b"114-0001\tregular\n114-0001\tnon-regular\n", "line 2 (114-0001) repeats the id above it"),
    ("unsorted", b"114-0002\tregular\n114-0001\tregular\n", "line 2 (114-0001) is out of order"),
    (
        "unsorted-late",
        b"114-0001\tregular\n114-0003\tregular\n114-0002\tregular\n",
        "line 3 (114-0002) is out of order (ids ascend by bytes)",
    ),
]


@pytest.mark.parametrize(("data", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_line_and_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(PopulationError) as refused:
        parse_population(data)
    text = str(refused.value)
    assert message in text
    assert "\n" not in text
    if data:
        assert text.startswith("population file is not canonical: line ")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "a population needs at least one entry"),
        ([("114-0001", "regular"), ("114-0001", "regular")], "id 114-0001 appears twice"),
        ([("114 0001", "regular")], "id '114 0001' is not valid"),
        ([("114-0001", "Regular")], "stratum 'Regular' is not valid"),
        ([("１１４", "regular")], "id '１１４' is not valid"),
        # A field hiding a line break would read as two well-formed lines.
        ([("114-0001", "regular\n114-0002\tregular")], "stratum .* is not valid"),
        ([("114-0001\tregular\n114-0000", "regular")], "id .* is not valid"),
    ],
)
def test_serialize_refuses(entries: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(PopulationError, match=message):
        serialize_population(entries)


@pytest.mark.parametrize("value", ["", "-a", ".a", "a b", "a\n", "ａ", "é", "x" * 65])
def test_check_id_refuses(value: str) -> None:
    with pytest.raises(PopulationError, match=r"is not valid: 1–64 of A–Z a–z 0–9 . _ -"):
        check_id(value)


@pytest.mark.parametrize("value", ["", "-a", "A", "a_b", "a\n", "ａ", "x" * 33])
def test_check_stratum_refuses(value: str) -> None:
    with pytest.raises(PopulationError, match="is not valid: 1–32 of a–z 0–9 -"):
        check_stratum(value)


def test_longest_valid_names_are_accepted() -> None:
    assert check_id("A" + "z" * 63) == "A" + "z" * 63
    assert check_stratum("0" + "-" * 31) == "0" + "-" * 31


@settings(max_examples=60, deadline=None, database=None)
@given(entries=entry_lists, data=st.data())
def test_serialize_ignores_arrival_order_and_parses_back(entries: list[tuple[str, str]], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(entries))
    file = serialize_population(shuffled)
    assert file == serialize_population(entries)
    population = parse_population(file)
    assert sorted(population.entries(), key=lambda pair: pair[0].encode()) == population.entries()
    assert set(population.entries()) == set(entries)


@settings(max_examples=40, deadline=None, database=None)
@given(entries=entry_lists.filter(lambda e: len(e) >= 2), data=st.data())
def test_any_other_order_of_the_lines_is_refused(entries: list[tuple[str, str]], data: st.DataObject) -> None:
    lines = serialize_population(entries).splitlines(keepends=True)
    shuffled = data.draw(st.permutations(lines).filter(lambda order: order != lines))
    with pytest.raises(PopulationError, match="is out of order"):
        parse_population(b"".join(shuffled))
