"""The announcement (protocol §4): building one, and every rule a published one must follow."""

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lottery.announcement import Stage, build_announcement, check_against_population, parse_announcement
from lottery.canonical import canonical_json
from lottery.drand import QUICKNET_CHAIN_HASH
from lottery.draw import commitment
from lottery.errors import AnnouncementError
from lottery.population import parse_population

CASE = Path(__file__).parents[1] / "vectors" / "draw" / "stratified-244"
BASE: dict[str, Any] = json.loads((CASE / "announcement.json").read_bytes())
POPULATION = parse_population((CASE / "population.tsv").read_bytes())
Mutation = Callable[[dict[str, Any]], object]


def _set(path: str, value: object) -> Mutation:
    """Set the field at a dotted path (list items by number); `...` deletes it."""

    def mutate(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key: Any = int(last) if isinstance(target, list) else last
        if value is ...:
            del target[key]
        else:
            target[key] = value

    return mutate


def _stages(*stages: object) -> Mutation:
    return _set("stages", list(stages))


REVIEW = {"name": "review", "from": "population", "quota": {"*": 25}}
REFUSALS: list[tuple[str, Mutation, str]] = [
    ("protocol", _set("protocol", "sunshine-draw/2"), "announcement protocol must be 'sunshine-draw/1'"),
    ("protocol-missing", _set("protocol", ...), "announcement protocol must be 'sunshine-draw/1'"),
    ("draw_id-space", _set("draw_id", "kinmen 114"), "draw_id must be 1–64 of A–Z a–z 0–9 . _ -"),
    ("draw_id-dash", _set("draw_id", "-kinmen"), "draw_id must be 1–64 of A–Z a–z 0–9 . _ -"),
    ("draw_id-long", _set("draw_id", "k" * 65), "draw_id must be 1–64"),
    ("draw_id-number", _set("draw_id", 114), "draw_id must be 1–64"),
    ("title-blank", _set("title", "  "), "announcement title must be a non-empty string"),
    ("title-missing", _set("title", ...), "announcement title must be a non-empty string"),
    ("office-number", _set("office", 1), "announcement office must be a non-empty string"),
    ("population-list", _set("population", []), "announcement population must be {digest, size, strata}"),
    ("population-missing", _set("population", ...), "announcement population must be {digest, size, strata}"),
    ("digest-upper", _set("population.digest", "A" * 64), "population digest must be 64 lowercase hex characters"),
    ("digest-short", _set("population.digest", "a" * 63), "population digest must be 64 lowercase hex characters"),
    ("size-zero", _set("population.size", 0), "population size must be a positive integer"),
    ("size-text", _set("population.size", "244"), "population size must be a positive integer"),
    ("size-bool", _set("population.size", True), "population size must be a positive integer"),
    ("strata-empty", _set("population.strata", {}), "population strata must map each stratum to its count"),
    ("strata-list", _set("population.strata", [1]), "population strata must map each stratum to its count"),
    ("stratum-name", _set("population.strata.Regular", 1), "population stratum 'Regular' must be a valid name"),
    ("stratum-zero", _set("population.strata.regular", 0), "population stratum 'regular' must be a valid name"),
    ("strata-sum", _set("population.strata.regular", 177), "population strata counts do not add up to its size"),
    ("stages-empty", _stages(), "announcement stages must be a non-empty list"),
    ("stages-object", _set("stages", {"review": 1}), "announcement stages must be a non-empty list"),
    ("stage-not-object", _stages("review"), "each stage must be {name, from, quota}"),
    ("stage-name-upper", _set("stages.0.name", "Review"), "stage name 'Review' must be 1–32 of a–z 0–9 -"),
    ("stage-name-digit", _set("stages.0.name", "1st"), "stage name '1st' must be 1–32"),
    ("stage-name-long", _set("stages.0.name", "r" * 33), "must be 1–32 of a–z 0–9 -, starting with a letter"),
    ("stage-population", _set("stages.0.name", "population"), "and not 'population'"),
    ("stage-twice", _stages(REVIEW, REVIEW), "stage name review is used twice"),
    (
        "from-unknown",
        _set("stages.0.from", "everyone"),
        "stage review draws from 'everyone', which is neither population nor an earlier stage",
    ),
    (
        "from-later",
        _stages({"name": "a", "from": "b", "quota": {"*": 1}}, {"name": "b", "from": "population", "quota": {"*": 2}}),
        "stage a draws from 'b', which is neither population nor an earlier stage",
    ),
    ("from-itself", _set("stages.1.from", "comparison"), "stage comparison draws from 'comparison'"),
    ("quota-empty", _set("stages.0.quota", {}), 'stage review: quota must be {"*": k} or a map from stratum to k'),
    ("quota-number", _set("stages.0.quota", 25), 'stage review: quota must be {"*": k}'),
    ("quota-mixed", _set("stages.0.quota", {"*": 5, "regular": 1}), 'stage review: quota mixes "*" with strata'),
    ("quota-key", _set("stages.0.quota", {"Regular": 1}), "stage review: quota key 'Regular' is not a stratum name"),
    ("quota-negative", _set("stages.0.quota.regular", -1), "stage review: quota for regular must be a whole number"),
    ("quota-text", _set("stages.1.quota.*", "1"), "stage comparison: quota for * must be a whole number 0 or more"),
    ("quota-bool", _set("stages.1.quota.*", True), "stage comparison: quota for * must be a whole number"),
    ("quota-pooled-big", _set("stages.0.quota", {"*": 245}), "stage review: quota 245 exceeds the population of 244"),
    ("quota-stratum-big", _set("stages.0.quota.non-regular", 67), "quota 67 exceeds stratum non-regular of 66"),
    ("quota-stratum-absent", _set("stages.0.quota.other", 1), "stage review: quota 1 exceeds stratum other of 0"),
    ("entropy-list", _set("entropy", []), "announcement entropy must be {commitment, dice?, drand?}"),
    ("commitment-short", _set("entropy.commitment", "ab"), "entropy commitment must be 64 lowercase hex characters"),
    ("commitment-missing", _set("entropy.commitment", ...), "entropy commitment must be 64 lowercase hex"),
    ("dice-zero", _set("entropy.dice.count", 0), 'entropy dice must be {"count": n} with 1 <= n <= 100'),
    ("dice-many", _set("entropy.dice.count", 101), 'entropy dice must be {"count": n} with 1 <= n <= 100'),
    ("dice-text", _set("entropy.dice.count", "20"), 'entropy dice must be {"count": n}'),
    ("dice-number", _set("entropy.dice", 20), 'entropy dice must be {"count": n}'),
    ("drand-chain", _set("entropy.drand.chain_hash", "0" * 64), "entropy drand must name the quicknet chain hash"),
    ("drand-number", _set("entropy.drand", 657413), "entropy drand must name the quicknet chain hash"),
    ("drand-round-zero", _set("entropy.drand.round", 0), "entropy drand round must be a positive integer"),
    ("drand-round-text", _set("entropy.drand.round", "657413"), "entropy drand round must be a positive integer"),
    (
        "no-entropy-source",
        _set("entropy", {"commitment": "0" * 64}),
        "entropy needs dice, drand or both besides the commitment",
    ),
    ("scheduled-local", _set("scheduled_at", "2026-01-15T10:00:00+08:00"), "scheduled_at must look like 2026-01-15T"),
    ("scheduled-missing", _set("scheduled_at", ...), "scheduled_at must look like 2026-01-15T02:00:00Z"),
    ("announced-fraction", _set("announced_at", "2026-01-08T02:00:00.0Z"), "announced_at must look like"),
    ("announced-impossible", _set("announced_at", "2026-01-32T02:00:00Z"), "announced_at is not a real date"),
    (
        "announced-after",
        _set("announced_at", "2026-01-15T02:00:01Z"),
        "announced_at is after scheduled_at: a draw is announced before it happens",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_each_rule_is_refused_with_its_reason(mutate: Mutation, message: str) -> None:
    document = copy.deepcopy(BASE)
    mutate(document)
    with pytest.raises(AnnouncementError) as refused:
        parse_announcement(document)
    assert message in str(refused.value)


@pytest.mark.parametrize("document", [None, [], "announcement", 1])
def test_an_announcement_is_an_object(document: object) -> None:
    with pytest.raises(AnnouncementError, match=r"^announcement must be a JSON object$"):
        parse_announcement(document)


def test_the_vector_announcement_parses() -> None:
    announcement = parse_announcement(copy.deepcopy(BASE))
    assert announcement.draw_id == "stratified-244"
    assert announcement.population_size == 244
    assert announcement.population_strata == {"non-regular": 66, "regular": 178}
    assert [stage.name for stage in announcement.stages] == ["review", "comparison"]
    assert announcement.stages[0].quota == {"non-regular": 7, "regular": 18}
    assert not announcement.stages[0].pooled
    assert announcement.stages[1].pooled
    assert announcement.dice_count == 20
    assert announcement.drand_round == 657413
    check_against_population(announcement, POPULATION)


def test_boundaries_are_accepted() -> None:
    document = copy.deepcopy(BASE)
    document["stages"] = [
        {"name": "all", "from": "population", "quota": {"*": 244}},
        {"name": "none", "from": "all", "quota": {"regular": 0, "unknown": 0}},
    ]
    document["entropy"] = {"commitment": "0" * 64, "dice": {"count": 100}}
    document["announced_at"] = document["scheduled_at"]
    document["rules"] = "ceil(10% of 244) = 25"
    announcement = parse_announcement(document)
    assert announcement.drand_round is None
    assert announcement.dice_count == 100
    assert announcement.stages[1].quota == {"regular": 0, "unknown": 0}


@pytest.mark.parametrize(
    ("population", "message"),
    [
        (
            {"digest": "0" * 64, "size": 244, "strata": {"non-regular": 66, "regular": 178}},
            "population digest does not match the announcement",
        ),
        (
            {"digest": POPULATION.digest, "size": 243, "strata": {"non-regular": 66, "regular": 177}},
            "population size does not match the announcement",
        ),
        (
            {"digest": POPULATION.digest, "size": 244, "strata": {"non-regular": 67, "regular": 177}},
            "population strata counts do not match the announcement",
        ),
    ],
)
def test_the_population_must_be_the_announced_one(population: dict[str, Any], message: str) -> None:
    document = copy.deepcopy(BASE)
    document["population"] = population
    document["stages"] = [{"name": "review", "from": "population", "quota": {"*": 1}}]
    with pytest.raises(AnnouncementError, match=f"^{message}$"):
        check_against_population(parse_announcement(document), POPULATION)


def _build(**changes: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "draw_id": "kinmen-114-annual",
        "title": "114年度公職人員財產申報實質審查抽籤",
        "office": "金門縣政府政風處",
        "population": POPULATION,
        "stages": [
            Stage("review", "population", {"*": 25}),
            Stage("comparison", "review", {"*": 1}),
        ],
        "commitment": commitment("11" * 32),
        "dice_count": 20,
        "use_drand": True,
        "scheduled_at": datetime(2026, 1, 15, 2, 0, tzinfo=UTC),
        "announced_at": datetime(2026, 1, 8, 2, 0, tzinfo=UTC),
    }
    arguments.update(changes)
    return build_announcement(**arguments)


def test_build_announcement_gives_the_spec_example_shape() -> None:
    document = _build(extra={"rules": "ceil(10% of 244) = 25", "title": "ignored, the argument wins"})
    assert document["protocol"] == "sunshine-draw/1"
    assert document["title"] == "114年度公職人員財產申報實質審查抽籤"
    assert document["rules"] == "ceil(10% of 244) = 25"
    assert document["population"] == {
        "digest": POPULATION.digest,
        "size": 244,
        "strata": {"non-regular": 66, "regular": 178},
    }
    assert document["stages"] == [
        {"from": "population", "name": "review", "quota": {"*": 25}},
        {"from": "review", "name": "comparison", "quota": {"*": 1}},
    ]
    assert document["entropy"] == {
        "commitment": commitment("11" * 32),
        "dice": {"count": 20},
        "drand": {"chain_hash": QUICKNET_CHAIN_HASH, "round": 25213012},
    }
    assert document["scheduled_at"] == "2026-01-15T02:00:00Z"
    assert document["announced_at"] == "2026-01-08T02:00:00Z"
    assert parse_announcement(json.loads(canonical_json(document))).document == document


def test_build_announcement_without_drand_or_dice() -> None:
    assert "drand" not in _build(use_drand=False)["entropy"]
    assert "dice" not in _build(dice_count=None)["entropy"]
    with pytest.raises(AnnouncementError, match="entropy needs dice, drand or both"):
        _build(dice_count=None, use_drand=False)


def test_build_announcement_refuses_what_parse_refuses() -> None:
    with pytest.raises(AnnouncementError, match="stage review: quota 245 exceeds the population of 244"):
        _build(stages=[Stage("review", "population", {"*": 245})])
    with pytest.raises(AnnouncementError, match="announced_at is after scheduled_at"):
        _build(announced_at=datetime(2026, 1, 16, tzinfo=UTC))


TIMED_CASE = Path(__file__).parents[1] / "vectors" / "draw" / "timed-bindings-244"
TIMED: dict[str, Any] = json.loads((TIMED_CASE / "announcement.json").read_bytes())


def test_the_timed_vector_declares_its_window_and_bindings() -> None:
    announcement = parse_announcement(copy.deepcopy(TIMED))
    assert announcement.scheduled_at == datetime(2023, 9, 15, 10, 40, tzinfo=UTC)
    assert announcement.inputs_close_at == datetime(2023, 9, 15, 10, 59, tzinfo=UTC)
    assert announcement.announced_at == datetime(2023, 9, 12, 1, 0, tzinfo=UTC)
    assert str(announcement.notice) == "3 days, 9:40:00"
    digest_file = TIMED_CASE.parent.parent / "bindings" / "bindings_digest"
    assert announcement.bindings_digest == digest_file.read_text().strip()


def test_an_announcement_without_a_window_has_none() -> None:
    announcement = parse_announcement(copy.deepcopy(BASE))
    assert announcement.inputs_close_at is None
    assert announcement.bindings_digest is None


TIMED_REFUSALS: list[tuple[str, Mutation, str]] = [
    ("close-format", _set("inputs_close_at", "2023-09-15T10:59"), "inputs_close_at must look like"),
    ("close-null", _set("inputs_close_at", None), "inputs_close_at must look like"),
    ("close-at-start", _set("inputs_close_at", "2023-09-15T10:40:00Z"), "inputs_close_at must be after scheduled_at"),
    ("close-before", _set("inputs_close_at", "2023-09-15T10:00:00Z"), "inputs_close_at must be after scheduled_at"),
    ("close-late", _set("inputs_close_at", "2023-09-15T12:40:01Z"), "at most 2 hours after it"),
    # Round 657413 is out at 11:00:03Z; closing at 10:59:34Z leaves only 29 s.
    ("drand-too-soon", _set("inputs_close_at", "2023-09-15T10:59:34Z"), "drand round 657413 comes less than 30 s"),
    ("bindings-upper", _set("population.bindings_digest", "A" * 64), "bindings_digest must be 64 lowercase hex"),
    ("bindings-null", _set("population.bindings_digest", None), "bindings_digest must be 64 lowercase hex"),
]


@pytest.mark.parametrize(("mutate", "message"), [r[1:] for r in TIMED_REFUSALS], ids=[r[0] for r in TIMED_REFUSALS])
def test_each_timing_rule_is_refused_with_its_reason(mutate: Mutation, message: str) -> None:
    document = copy.deepcopy(TIMED)
    mutate(document)
    with pytest.raises(AnnouncementError) as refused:
        parse_announcement(document)
    assert message in str(refused.value)


def test_timing_boundaries_are_accepted() -> None:
    document = copy.deepcopy(TIMED)
    document["inputs_close_at"] = "2023-09-15T10:59:33Z"  # round 657413 exactly 30 s later
    assert parse_announcement(document).inputs_close_at == datetime(2023, 9, 15, 10, 59, 33, tzinfo=UTC)
    document["inputs_close_at"] = "2023-09-15T10:40:01Z"
    assert parse_announcement(document).inputs_close_at is not None
    del document["entropy"]["drand"]
    document["inputs_close_at"] = "2023-09-15T12:40:00Z"  # 2 h, no drand: no margin to keep
    assert parse_announcement(document).drand_round is None


def test_build_announcement_with_a_window_announces_the_first_round_30_s_after_it() -> None:
    close = datetime(2026, 1, 15, 2, 20, tzinfo=UTC)
    document = _build(inputs_close_at=close, bindings_digest="ab" * 32)
    assert document["inputs_close_at"] == "2026-01-15T02:20:00Z"
    assert document["entropy"]["drand"]["round"] == 25213422  # the protocol §4 example
    assert document["population"]["bindings_digest"] == "ab" * 32
    announcement = parse_announcement(json.loads(canonical_json(document)))
    assert announcement.inputs_close_at == close
    assert announcement.bindings_digest == "ab" * 32


def test_build_announcement_takes_a_given_round_only_if_it_keeps_the_margin() -> None:
    demo = {
        "scheduled_at": datetime(2023, 9, 15, 10, 40, tzinfo=UTC),
        "announced_at": datetime(2023, 9, 12, 1, 0, tzinfo=UTC),
        "inputs_close_at": datetime(2023, 9, 15, 10, 59, tzinfo=UTC),
    }
    assert _build(**demo, drand_round=657413)["entropy"]["drand"]["round"] == 657413
    with pytest.raises(AnnouncementError, match="drand round 657401 comes less than 30 s after inputs_close_at"):
        _build(**demo, drand_round=657401)
    assert _build(drand_round=25213500)["entropy"]["drand"]["round"] == 25213500
    assert "inputs_close_at" not in _build() and "bindings_digest" not in _build()["population"]
