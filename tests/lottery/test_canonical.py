"""Canonical JSON (protocol §3): RFC 8785 bytes, digests, and refusing anything not canonical."""

import hashlib

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from lottery.canonical import canonical_json, digest, load_canonical, load_json
from lottery.errors import ProtocolError


def test_keys_sorted_no_white_space_utf8() -> None:
    document = {"b": [1, {"d": None, "c": True}], "a": "金門", "é": -0}
    assert canonical_json(document) == '{"a":"金門","b":[1,{"c":true,"d":null}],"é":0}'.encode()


def test_digest_is_sha256_of_the_canonical_bytes() -> None:
    document = {"z": 1, "a": [2, 3]}
    assert digest(document) == hashlib.sha256(b'{"a":[2,3],"z":1}').hexdigest()


@pytest.mark.parametrize("document", [1.5, {"a": [0.0]}, [1, {"b": 2.0}]])
def test_floats_are_refused(document: object) -> None:
    with pytest.raises(ProtocolError, match="canonical JSON carries integers only, not floats"):
        canonical_json(document)


def test_load_canonical_returns_the_document() -> None:
    assert load_canonical(b'{"a":1,"b":"x"}', "doc") == {"a": 1, "b": "x"}


@pytest.mark.parametrize(
    "data",
    [b'{"b":1,"a":2}', b'{"a": 1}', b'{"a":1}\n', b'{"a":"\\u0041"}', b'{"a":-0}', b"\xef\xbb\xbf{}"],
)
def test_load_canonical_refuses_other_spellings(data: bytes) -> None:
    with pytest.raises(ProtocolError, match=r"^announcement\.json is not (in canonical form|valid JSON)"):
        load_canonical(data, "announcement.json")


def test_load_canonical_names_the_document_in_the_refusal() -> None:
    with pytest.raises(
        ProtocolError, match=r"^result\.json is not in canonical form \(RFC 8785, one line, no newline\)$"
    ):
        load_canonical(b'{"b":1,"a":2}', "result.json")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "inputs is not valid JSON: Expecting property name"),
        (b"\xff", "inputs is not valid JSON"),
        (b'{"a":1.5}', "inputs is not valid JSON: number 1.5 is not an integer"),
        (b'{"a":1e3}', "inputs is not valid JSON: number 1e3 is not an integer"),
    ],
)
def test_load_json_refusals(data: bytes, message: str) -> None:
    for load in (load_json, load_canonical):
        with pytest.raises(ProtocolError) as refused:
            load(data, "inputs")
        assert str(refused.value).startswith(message)


def test_load_json_accepts_any_spelling() -> None:
    assert load_json(b'{ "b" : 1,\n "a" : [ 2 ] }\n', "inputs") == {"a": [2], "b": 1}


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(st.characters(codec="utf-8")),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(st.characters(codec="utf-8")), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_the_fast_encoder_writes_exactly_the_reference_bytes(document: object) -> None:
    # Any key (non-ASCII ones go to the reference encoder) and any string a document may hold.
    assert canonical_json(document) == rfc8785.dumps(document)


@pytest.mark.parametrize(
    "document",
    [{"a": 2**53}, {"\U0001f600": 1, "\ue000": 2}, ["\ud800"], {1: "x"}, (1, [2, (3,)])],
    ids=["big-integer", "utf16-order", "lone-surrogate", "integer-key", "tuples"],
)
def test_documents_outside_the_fast_path_behave_as_the_reference_says(document: object) -> None:
    try:
        expected = rfc8785.dumps(document)
    except Exception as refusal:  # the reference refuses: so do we, in its words
        with pytest.raises(type(refusal)):
            canonical_json(document)
    else:
        assert canonical_json(document) == expected


def test_a_float_inside_a_tuple_or_under_an_odd_key_is_refused_too() -> None:
    with pytest.raises(ProtocolError, match="floats"):
        canonical_json({"é": (1, 2.5)})
