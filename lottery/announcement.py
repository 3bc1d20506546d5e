"""The announcement (protocol §4): build one, and validate one as published."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from lottery import PROTOCOL
from lottery.drand import QUICKNET_CHAIN_HASH, first_round_after, round_at, round_time
from lottery.errors import AnnouncementError, ProtocolError
from lottery.population import ID_PATTERN, STRATUM_PATTERN, Population
from lottery.timestamps import format_timestamp, parse_timestamp

STAGE_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,31}")
POOLED = "*"
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: Upper bound on dice so that a typo cannot announce a draw nobody can finish on camera.
MAX_DICE = 100
#: `inputs_close_at` is at most this long after `scheduled_at` (protocol §4).
MAX_INPUT_WINDOW = timedelta(hours=2)
#: The announced drand round comes at least this many seconds after `inputs_close_at` (protocol §4).
DRAND_MARGIN_SECONDS = 30
#: The least notice an office gives (`scheduled_at - announced_at`, protocol §4).
MIN_NOTICE = timedelta(hours=24)


@dataclass(frozen=True)
class Stage:
    """One stage of a draw: its name, where it draws from and the quota of each group."""

    name: str
    source: str
    quota: dict[str, int]

    @property
    def pooled(self) -> bool:
        """True when the stage draws one group (`"*"`) over its whole from-set."""
        return POOLED in self.quota

    def to_json(self) -> dict[str, Any]:
        """The stage as the announcement carries it."""
        return {"from": self.source, "name": self.name, "quota": dict(self.quota)}


@dataclass(frozen=True)
class Announcement:
    """A validated announcement; `document` is the JSON object exactly as published."""

    document: dict[str, Any]
    draw_id: str
    population_digest: str
    population_size: int
    population_strata: dict[str, int]
    stages: tuple[Stage, ...]
    commitment: str
    dice_count: int | None
    drand_round: int | None
    scheduled_at: datetime
    announced_at: datetime
    #: None for an announcement that predates the input window (its timing is "not declared").
    inputs_close_at: datetime | None = None
    #: `population.bindings_digest` (protocol §2a), None when the announcement carries none.
    bindings_digest: str | None = None

    @property
    def notice(self) -> timedelta:
        """The notice given: `scheduled_at - announced_at`."""
        return self.scheduled_at - self.announced_at


def build_announcement(
    *,
    draw_id: str,
    title: str,
    office: str,
    population: Population,
    stages: list[Stage],
    commitment: str,
    dice_count: int | None,
    use_drand: bool,
    scheduled_at: datetime,
    announced_at: datetime,
    extra: dict[str, Any] | None = None,
    inputs_close_at: datetime | None = None,
    bindings_digest: str | None = None,
    drand_round: int | None = None,
) -> dict[str, Any]:
    """Assemble an announcement document and validate it; returns the document.

    With `inputs_close_at` the drand round is the first quicknet round at least 30 s after it
    (`first_round_after`); without, the first round at or after `scheduled_at` (the rule of
    announcements that predate the input window). `drand_round` overrides either, but must
    still satisfy the rule. `bindings_digest` goes into `population` (protocol §2a). `extra` holds
    descriptive fields (rule text, witnesses) that verifiers ignore but the signature covers.
    Raises `AnnouncementError` for anything protocol §4 does not allow.
    """
    if use_drand and drand_round is None:
        drand_round = (
            round_at(scheduled_at)
            if inputs_close_at is None
            else first_round_after(inputs_close_at, DRAND_MARGIN_SECONDS)
        )
    population_field: dict[str, Any] = {
        "digest": population.digest,
        "size": population.size,
        "strata": population.strata_counts(),
    }
    if bindings_digest is not None:
        population_field["bindings_digest"] = bindings_digest
    document: dict[str, Any] = dict(extra or {})
    document.update(
        {
            "protocol": PROTOCOL,
            "draw_id": draw_id,
            "title": title,
            "office": office,
            "population": population_field,
            "stages": [stage.to_json() for stage in stages],
            "entropy": _entropy_field(commitment, dice_count, drand_round if use_drand else None),
            "scheduled_at": format_timestamp(scheduled_at),
            "announced_at": format_timestamp(announced_at),
        }
    )
    if inputs_close_at is not None:
        document["inputs_close_at"] = format_timestamp(inputs_close_at)
    announcement = parse_announcement(document)
    check_against_population(announcement, population)
    return document


def _entropy_field(commitment: str, dice_count: int | None, drand_round: int | None) -> dict[str, Any]:
    """The announcement's `entropy`: the secret's commitment, and the dice and drand round if used."""
    entropy: dict[str, Any] = {"commitment": commitment}
    if dice_count is not None:
        entropy["dice"] = {"count": dice_count}
    if drand_round is not None:
        entropy["drand"] = {"chain_hash": QUICKNET_CHAIN_HASH, "round": drand_round}
    return entropy


def parse_announcement(document: object) -> Announcement:
    """Validate an announcement object (already parsed from JSON) and return its fields.

    Raises `AnnouncementError` naming the first field that is wrong.
    """
    if not isinstance(document, dict):
        raise AnnouncementError("announcement must be a JSON object")
    if document.get("protocol") != PROTOCOL:
        raise AnnouncementError(f"announcement protocol must be {PROTOCOL!r}")
    draw_id = document.get("draw_id")
    if not isinstance(draw_id, str) or not ID_PATTERN.fullmatch(draw_id):
        raise AnnouncementError("draw_id must be 1–64 of A–Z a–z 0–9 . _ -, starting with a letter or digit")
    for name in ("title", "office"):
        if not isinstance(document.get(name), str) or not document[name].strip():
            raise AnnouncementError(f"announcement {name} must be a non-empty string")
    digest, size, strata, bindings = _parse_population_field(document.get("population"))
    stages = _parse_stages(document.get("stages"))
    for stage in stages:
        if stage.source == "population" and stage.pooled and stage.quota[POOLED] > size:
            raise AnnouncementError(f"stage {stage.name}: quota {stage.quota[POOLED]} exceeds the population of {size}")
        if stage.source == "population" and not stage.pooled:
            for key, k in stage.quota.items():
                if k > strata.get(key, 0):
                    raise AnnouncementError(
                        f"stage {stage.name}: quota {k} exceeds stratum {key} of {strata.get(key, 0)}"
                    )
    commitment, dice_count, drand_round = _parse_entropy(document.get("entropy"))
    try:
        scheduled = parse_timestamp(document.get("scheduled_at"), "scheduled_at")
        announced = parse_timestamp(document.get("announced_at"), "announced_at")
        closes = None
        if "inputs_close_at" in document:
            closes = parse_timestamp(document["inputs_close_at"], "inputs_close_at")
    except ProtocolError as exc:
        raise AnnouncementError(str(exc)) from None
    if announced > scheduled:
        raise AnnouncementError("announced_at is after scheduled_at: a draw is announced before it happens")
    if closes is not None:
        _check_input_window(scheduled, closes, drand_round)
    return Announcement(
        document=document,
        draw_id=draw_id,
        population_digest=digest,
        population_size=size,
        population_strata=strata,
        stages=tuple(stages),
        commitment=commitment,
        dice_count=dice_count,
        drand_round=drand_round,
        scheduled_at=scheduled,
        announced_at=announced,
        inputs_close_at=closes,
        bindings_digest=bindings,
    )


def _check_input_window(scheduled: datetime, closes: datetime, drand_round: int | None) -> None:
    """Refuse an input window outside `(scheduled_at, scheduled_at + 2 h]`, or a drand round
    that could exist less than 30 s after it closes (protocol §4)."""
    if not scheduled < closes <= scheduled + MAX_INPUT_WINDOW:
        raise AnnouncementError("inputs_close_at must be after scheduled_at and at most 2 hours after it")
    if drand_round is not None and round_time(drand_round) < closes.timestamp() + DRAND_MARGIN_SECONDS:
        raise AnnouncementError(
            f"drand round {drand_round} comes less than {DRAND_MARGIN_SECONDS} s after inputs_close_at: "
            f"announce round {first_round_after(closes, DRAND_MARGIN_SECONDS)} or later"
        )


def check_against_population(announcement: Announcement, population: Population) -> None:
    """Refuse a population whose digest, size or strata differ from the announcement's."""
    if population.digest != announcement.population_digest:
        raise AnnouncementError("population digest does not match the announcement")
    if population.size != announcement.population_size:
        raise AnnouncementError("population size does not match the announcement")
    if population.strata_counts() != announcement.population_strata:
        raise AnnouncementError("population strata counts do not match the announcement")


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parse_population_field(value: object) -> tuple[str, int, dict[str, int], str | None]:
    if not isinstance(value, dict):
        raise AnnouncementError("announcement population must be {digest, size, strata}")
    digest, size, strata = value.get("digest"), value.get("size"), value.get("strata")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise AnnouncementError("population digest must be 64 lowercase hex characters")
    if not _is_count(size) or size < 1:
        raise AnnouncementError("population size must be a positive integer")
    if not isinstance(strata, dict) or not strata:
        raise AnnouncementError("population strata must map each stratum to its count")
    for key, count in strata.items():
        if not STRATUM_PATTERN.fullmatch(key) or not _is_count(count) or count < 1:
            raise AnnouncementError(f"population stratum {key!r} must be a valid name with a positive count")
    if sum(strata.values()) != size:
        raise AnnouncementError("population strata counts do not add up to its size")
    bindings = value.get("bindings_digest")
    if "bindings_digest" in value and (not isinstance(bindings, str) or not _HEX64.fullmatch(bindings)):
        raise AnnouncementError("population bindings_digest must be 64 lowercase hex characters")
    return digest, size, dict(strata), bindings


def _parse_stages(value: object) -> list[Stage]:
    if not isinstance(value, list) or not value:
        raise AnnouncementError("announcement stages must be a non-empty list")
    stages: list[Stage] = []
    for item in value:
        if not isinstance(item, dict):
            raise AnnouncementError("each stage must be {name, from, quota}")
        name, source, quota = item.get("name"), item.get("from"), item.get("quota")
        if not isinstance(name, str) or not STAGE_PATTERN.fullmatch(name) or name == "population":
            raise AnnouncementError(
                f"stage name {name!r} must be 1–32 of a–z 0–9 -, starting with a letter, and not 'population'"
            )
        if any(stage.name == name for stage in stages):
            raise AnnouncementError(f"stage name {name} is used twice")
        earlier = any(stage.name == source for stage in stages)
        if not isinstance(source, str) or (source != "population" and not earlier):
            raise AnnouncementError(
                f"stage {name} draws from {source!r}, which is neither population nor an earlier stage"
            )
        if not isinstance(quota, dict) or not quota:
            raise AnnouncementError(f'stage {name}: quota must be {{"*": k}} or a map from stratum to k')
        if POOLED in quota and len(quota) != 1:
            raise AnnouncementError(f'stage {name}: quota mixes "*" with strata')
        for key, k in quota.items():
            if key != POOLED and not STRATUM_PATTERN.fullmatch(key):
                raise AnnouncementError(f"stage {name}: quota key {key!r} is not a stratum name")
            if not _is_count(k):
                raise AnnouncementError(f"stage {name}: quota for {key} must be a whole number 0 or more")
        stages.append(Stage(name=name, source=source, quota=dict(quota)))
    return stages


def _parse_entropy(value: object) -> tuple[str, int | None, int | None]:
    if not isinstance(value, dict):
        raise AnnouncementError("announcement entropy must be {commitment, dice?, drand?}")
    commitment = value.get("commitment")
    if not isinstance(commitment, str) or not _HEX64.fullmatch(commitment):
        raise AnnouncementError("entropy commitment must be 64 lowercase hex characters")
    dice_count: int | None = None
    drand_round: int | None = None
    if "dice" in value:
        dice = value["dice"]
        if not isinstance(dice, dict) or not _is_count(dice.get("count")) or not 1 <= dice["count"] <= MAX_DICE:
            raise AnnouncementError(f'entropy dice must be {{"count": n}} with 1 <= n <= {MAX_DICE}')
        dice_count = dice["count"]
    if "drand" in value:
        drand = value["drand"]
        if not isinstance(drand, dict) or drand.get("chain_hash") != QUICKNET_CHAIN_HASH:
            raise AnnouncementError("entropy drand must name the quicknet chain hash")
        if not _is_count(drand.get("round")) or drand["round"] < 1:
            raise AnnouncementError("entropy drand round must be a positive integer")
        drand_round = drand["round"]
    if dice_count is None and drand_round is None:
        raise AnnouncementError("entropy needs dice, drand or both besides the commitment")
    return commitment, dice_count, drand_round
