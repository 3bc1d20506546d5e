"""Canonical JSON (RFC 8785, protocol §3) and document digests.

`rfc8785` is the reference encoder. For the documents the protocol publishes (string keys in
ASCII, integers within ±(2^53 - 1), strings, true, false, null) the standard library's C
encoder, with sorted keys and no white space, writes exactly the same bytes, ten times faster:
a result of a million-entry draw lists 100,000 selections. `canonical_json` checks that a
document is of that kind and otherwise hands it to `rfc8785` (which then sorts non-ASCII keys by
UTF-16 code units, or refuses what JSON cannot carry, as it always did).
"""

import hashlib
import json
from typing import Any

import rfc8785

from lottery.errors import ProtocolError

#: RFC 8785 numbers are IEEE 754 doubles: integers beyond this are not exact.
_SAFE_INTEGER = 2**53 - 1
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(document: Any) -> bytes:
    """Return the RFC 8785 bytes of `document` (dicts, lists, str, int, bool, None only)."""
    if not _plain(document):
        return rfc8785.dumps(document)
    try:
        return _ENCODER.encode(document).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the reference encoder refuses it in its own words
        return rfc8785.dumps(document)


def digest(document: Any) -> str:
    """Return `hex(sha256(JCS(document)))`."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def load_canonical(data: bytes, what: str) -> Any:
    """Parse `data` as JSON and insist that it is already in canonical form.

    `what` names the document in the refusal message.
    """
    try:
        document = json.loads(data.decode("utf-8"), parse_float=_refuse_float)
    except (UnicodeDecodeError, json.JSONDecodeError, ProtocolError) as exc:
        raise ProtocolError(f"{what} is not valid JSON: {_first_line(exc)}") from None
    if canonical_json(document) != data:
        raise ProtocolError(f"{what} is not in canonical form (RFC 8785, one line, no newline)")
    return document


def load_json(data: bytes, what: str) -> Any:
    """Parse `data` as JSON (UTF-8, integers only), without requiring canonical form."""
    try:
        return json.loads(data.decode("utf-8"), parse_float=_refuse_float)
    except (UnicodeDecodeError, json.JSONDecodeError, ProtocolError) as exc:
        raise ProtocolError(f"{what} is not valid JSON: {_first_line(exc)}") from None


def _refuse_float(text: str) -> Any:
    raise ProtocolError(f"number {text} is not an integer")


def _plain(value: Any) -> bool:
    """True when the standard encoder writes `value` canonically; refuses floats anywhere in it.

    Plain: str, bool, None, integers within ±(2^53 - 1), lists and tuples of plain values, and
    dicts of plain values under ASCII string keys (code point order is then UTF-16 order).
    """
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return bool(-_SAFE_INTEGER <= value <= _SAFE_INTEGER)
    if isinstance(value, float):
        raise ProtocolError("canonical JSON carries integers only, not floats")
    if kind is dict:
        plain = True
        for key, item in value.items():
            # Every value is still visited after a reason to fall back: a float must be refused.
            if not _plain(item) or type(key) is not str or not key.isascii():
                plain = False
        return plain
    if kind is list or kind is tuple:
        plain = True
        for item in value:
            if not _plain(item):
                plain = False
        return plain
    return False  # subclasses and anything else: the reference encoder decides


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
