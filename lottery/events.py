"""A draw's logged events (`events.json`, protocol §5, §10–§12) and the timing they must show.

`events.json` is a JSON list, ascending by index, of the draw's log events other than
`review.recorded`: `[{"index": 12, "entry": "<canonical JSON text>", "proof": ["<base64>", …]}]`,
each proof the RFC 9162 inclusion path of leaf `index` in the tree of the bundle's checkpoint.
The functions below each check one property and return a one-line detail, or raise
`ProtocolError` naming the first problem; `lottery.bundle` prints one line per function.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lottery.announcement import DRAND_MARGIN_SECONDS, Announcement
from lottery.canonical import load_canonical, load_json
from lottery.checkpoint import Checkpoint
from lottery.drand import round_time
from lottery.errors import ProtocolError
from lottery.merkle import leaf_hash, verify_inclusion
from lottery.timestamps import format_timestamp, parse_timestamp

#: The inputs in the order they are entered (protocol §5).
INPUT_ORDER = ("dice", "secret", "drand")


@dataclass(frozen=True)
class LoggedEvent:
    """One item of `events.json`: log index, the entry's exact bytes, the parsed event, the proof."""

    index: int
    entry: bytes
    event: dict[str, Any]
    proof: tuple[bytes, ...]

    @property
    def type(self) -> str:
        """The event's `type`."""
        return str(self.event["type"])

    @property
    def label(self) -> str:
        """How a report names the event: `draw.input dice (index 12)`."""
        name = f" {self.event.get('name')}" if self.type == "draw.input" else ""
        return f"{self.type}{name} (index {self.index})"


def parse_events(data: bytes) -> list[LoggedEvent]:
    """Read `events.json` into events, ascending by index.

    Raises `ProtocolError` when it is not a list of `{index, entry, proof}`, an entry is not the
    canonical JSON of an object with a `type`, a proof item is not base64 of 32 bytes, or the
    indexes do not strictly ascend.
    """
    items = load_json(data, "events.json")
    if not isinstance(items, list):
        raise ProtocolError("events.json must be a list of {index, entry, proof}")
    events: list[LoggedEvent] = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ProtocolError(f"events.json item {position} must be {{index, entry, proof}}")
        index, entry, proof = item.get("index"), item.get("entry"), item.get("proof")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ProtocolError(f"events.json item {position}: index must be a whole number 0 or more")
        if not isinstance(entry, str) or not isinstance(proof, list):
            raise ProtocolError(f"events.json item {position} must be {{index, entry, proof}}")
        entry_bytes = entry.encode("utf-8")
        event = load_canonical(entry_bytes, f"events.json entry {index}")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ProtocolError(f"events.json entry {index} must be an object with a type")
        hashes: list[bytes] = []
        for node in proof:
            try:
                raw = base64.b64decode(node, validate=True) if isinstance(node, str) else b""
            except (binascii.Error, ValueError):
                raw = b""
            if len(raw) != 32:
                raise ProtocolError(f"events.json entry {index}: proof items must be base64 of 32-byte hashes")
            hashes.append(raw)
        if events and index <= events[-1].index:
            raise ProtocolError(f"events.json is not in ascending index order at index {index}")
        events.append(LoggedEvent(index, entry_bytes, event, tuple(hashes)))
    return events


def check_identity(
    events: list[LoggedEvent],
    draw_id: str,
    announcement_digest: str,
    population_digest: str | None,
    result_digest: str,
) -> str:
    """Every event names this draw; `draw.announced` and `draw.completed` name its documents."""
    for logged in events:
        event = logged.event
        if event.get("draw_id") != draw_id:
            raise ProtocolError(f"{logged.label} belongs to another draw")
        if logged.type == "draw.announced":
            if event.get("announcement_digest") != announcement_digest:
                raise ProtocolError(f"{logged.label} names another announcement digest")
            if population_digest is not None and event.get("population_digest") != population_digest:
                raise ProtocolError(f"{logged.label} names another population digest")
        if logged.type == "draw.completed" and event.get("result_digest") != result_digest:
            raise ProtocolError(f"{logged.label} names another result digest")
    return f"{len(events)} events of draw {draw_id}"


def check_inclusion(events: list[LoggedEvent], checkpoint: Checkpoint) -> str:
    """Every event's proof leads from its entry to the checkpoint's root (RFC 9162)."""
    for logged in events:
        try:
            verify_inclusion(
                logged.index, checkpoint.size, leaf_hash(logged.entry), list(logged.proof), checkpoint.root
            )
        except ProtocolError as exc:
            raise ProtocolError(f"{logged.label}: {exc}") from None
    if not events:
        return "events.json lists no events"
    return f"{len(events)} events, indexes {events[0].index}–{events[-1].index} of {checkpoint.size}"


def announced_sources(announcement: Announcement) -> list[str]:
    """The inputs this draw takes, in the order they are entered: dice?, secret, drand?."""
    return [
        name
        for name in INPUT_ORDER
        if name == "secret"
        or (name == "dice" and announcement.dice_count is not None)
        or (name == "drand" and announcement.drand_round is not None)
    ]


def check_input_values(events: list[LoggedEvent], announcement: Announcement, inputs: object) -> str:
    """Each announced input is logged once as `draw.input`, with the value in `result.json`."""
    if not isinstance(inputs, dict):
        raise ProtocolError("result.json has no inputs to compare with")
    sources = announced_sources(announcement)
    logged: dict[str, LoggedEvent] = {}
    for event in events:
        if event.type != "draw.input":
            continue
        name = event.event.get("name")
        if name not in sources:
            raise ProtocolError(f"{event.label}: {name!r} is not an announced input")
        if name in logged:
            raise ProtocolError(f"{event.label}: {name} is logged twice")
        logged[str(name)] = event
        if event.event.get("value") != inputs.get(name):
            raise ProtocolError(f"{event.label}: the logged value differs from result.json's {name}")
    missing = [name for name in sources if name not in logged]
    if missing:
        raise ProtocolError("no draw.input event for " + ", ".join(missing))
    return ", ".join(sources)


def check_order(events: list[LoggedEvent], announcement: Announcement) -> str:
    """The draw's steps are logged announced → dice → secret → drand → completed (protocol §5).

    Only the announced sources are expected. `draw.witness_confirmed` and types this verifier
    does not know are ignored; a `draw.abandoned` has no place in a completed draw.
    """
    steps: list[str] = []
    for logged in events:
        if logged.type == "draw.announced":
            steps.append("announced")
        elif logged.type == "draw.input":
            steps.append(str(logged.event.get("name")))
        elif logged.type == "draw.completed":
            steps.append("completed")
        elif logged.type == "draw.abandoned":
            steps.append("abandoned")
    expected = ["announced", *announced_sources(announcement), "completed"]
    if steps != expected:
        raise ProtocolError(f"logged {' → '.join(steps) or 'nothing'}, expected {' → '.join(expected)}")
    return " → ".join(steps)


def check_input_times(events: list[LoggedEvent], announcement: Announcement) -> str:
    """Dice and secret were logged within `[scheduled_at, inputs_close_at)` (protocol §5).

    Without `inputs_close_at` (an announcement that predates the rule) only `scheduled_at` is
    checked.
    """
    start, close = announcement.scheduled_at, announcement.inputs_close_at
    times: list[str] = []
    for logged in events:
        if logged.type != "draw.input" or logged.event.get("name") not in ("dice", "secret"):
            continue
        moment = parse_timestamp(logged.event.get("time"), f"{logged.label} time")
        if moment < start:
            raise ProtocolError(f"{logged.label} was entered at {format_timestamp(moment)}, before scheduled_at")
        if close is not None and moment >= close:
            raise ProtocolError(
                f"{logged.label} was entered at {format_timestamp(moment)}, at or after inputs_close_at"
                f" {format_timestamp(close)}"
            )
        times.append(f"{logged.event.get('name')} {format_timestamp(moment)}")
    return ", ".join(times) or "no dice or secret events"


def drand_margin(announcement: Announcement) -> str:
    """The announced round comes at least 30 s after `inputs_close_at`; raises otherwise."""
    close, round_number = announcement.inputs_close_at, announcement.drand_round
    if close is None or round_number is None:
        raise ProtocolError("no inputs_close_at or no drand round")
    gap = round_time(round_number) - int(close.timestamp())
    if gap < DRAND_MARGIN_SECONDS:
        raise ProtocolError(f"round {round_number} is out {gap} s after inputs_close_at")
    published = datetime.fromtimestamp(round_time(round_number), close.tzinfo)
    return f"round {round_number} is out at {format_timestamp(published)}, {gap} s after inputs close"


def describe_duration(delta: timedelta) -> str:
    """A duration as people read it: `3 days 9 h 40 min` (whole minutes, rounded down)."""
    if delta < timedelta(0):
        return "-" + describe_duration(-delta)
    minutes = int(delta.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day" + ("s" if days != 1 else "")] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins or not parts:
        parts.append(f"{mins} min")
    return " ".join(parts)
