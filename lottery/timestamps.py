"""RFC 3339 UTC timestamps with whole seconds and a `Z`, as every document uses them."""

import re
from datetime import UTC, datetime

from lottery.errors import ProtocolError

_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def parse_timestamp(text: object, what: str) -> datetime:
    """Parse `2026-01-15T02:00:00Z` into an aware UTC datetime; refuse anything else."""
    if not isinstance(text, str) or not _PATTERN.fullmatch(text):
        raise ProtocolError(f"{what} must look like 2026-01-15T02:00:00Z (UTC, whole seconds)")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ProtocolError(f"{what} is not a real date and time: {text}") from None


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with whole seconds."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
