"""Canonical JSON (RFC 8785, SPEC §3) and document digests."""

import hashlib
import json
from typing import Any

import rfc8785

from lottery.errors import ProtocolError


def canonical_json(document: Any) -> bytes:
    """Return the RFC 8785 bytes of `document` (dicts, lists, str, int, bool, None only)."""
    if _has_float(document):
        raise ProtocolError("canonical JSON carries integers only, not floats")
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


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
