"""RFC 3339 UTC timestamps with whole seconds, as every document carries them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lottery.errors import ProtocolError
from lottery.timestamps import format_timestamp, parse_timestamp


def test_round_trip() -> None:
    moment = parse_timestamp("2026-01-15T02:00:00Z", "scheduled_at")
    assert moment == datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-01-15T02:00:00Z"


def test_format_converts_to_utc_and_drops_fractions() -> None:
    taipei = timezone(timedelta(hours=8))
    assert format_timestamp(datetime(2026, 1, 15, 10, 0, 0, 999_999, tzinfo=taipei)) == "2026-01-15T02:00:00Z"


def test_format_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timestamps must be timezone-aware"):
        format_timestamp(datetime(2026, 1, 15))


@pytest.mark.parametrize(
    "text",
    ["2026-01-15T02:00:00", "2026-01-15T02:00:00.5Z", "2026-01-15 02:00:00Z", "2026-01-15T02:00:00+08:00", "", None, 5],
)
def test_other_shapes_are_refused(text: object) -> None:
    with pytest.raises(ProtocolError, match=r"^drawn_at must look like 2026-01-15T02:00:00Z \(UTC, whole seconds\)$"):
        parse_timestamp(text, "drawn_at")


def test_impossible_dates_are_refused() -> None:
    with pytest.raises(ProtocolError, match=r"^drawn_at is not a real date and time: 2026-02-30T02:00:00Z$"):
        parse_timestamp("2026-02-30T02:00:00Z", "drawn_at")
