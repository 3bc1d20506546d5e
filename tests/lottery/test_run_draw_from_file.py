"""`run_draw_from_file` (the CLI's parallel path) gives exactly `run_draw(parse_population(…))`.

The split path only starts for large files on several cores, so these tests lower the
threshold and claim three cores; whatever the file, the result bytes or the refusal must be
the same as the one-process path's.
"""

import os
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lottery import engine
from lottery.announcement import Announcement, Stage, build_announcement, parse_announcement
from lottery.canonical import canonical_json, load_json
from lottery.draw import DrawInputs, commitment, parse_inputs, run_draw
from lottery.engine import run_draw_from_file
from lottery.errors import ProtocolError
from lottery.population import parse_population, serialize_population

VECTORS = Path(__file__).parents[1] / "vectors" / "draw"
DRAW_CASES = sorted(p for p in VECTORS.iterdir() if p.is_dir())
SECRET = "ab" * 32
DRAWN_AT = "2026-01-15T02:03:04Z"


@pytest.fixture(autouse=True)
def split_always(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Split every file into slices over three processes; record whether the split path answered."""
    monkeypatch.setattr(engine, "PARALLEL_MIN_LINES", 1)
    monkeypatch.setattr(engine, "_usable_cores", lambda: 3)
    answered: list[bool] = []
    original = engine._run_draw_in_slices

    def recording(*args: object) -> object:
        result = original(*args)  # type: ignore[arg-type]
        answered.append(result is not None)
        return result

    monkeypatch.setattr(engine, "_run_draw_in_slices", recording)
    return answered


def _outcome(compute: object) -> tuple[str, bytes | str]:
    try:
        return "ok", canonical_json(compute())  # type: ignore[operator]
    except ProtocolError as exc:
        return type(exc).__name__, str(exc)


def _both(data: bytes, announcement: Announcement, inputs: DrawInputs, drawn_at: str = DRAWN_AT) -> tuple[str, object]:
    expected = _outcome(lambda: run_draw(parse_population(data), announcement, inputs, drawn_at, verify_bls=False))
    got = _outcome(lambda: run_draw_from_file(data, announcement, inputs, drawn_at, verify_bls=False))
    assert got == expected
    return got


@pytest.mark.parametrize("case", DRAW_CASES, ids=lambda p: p.name)
def test_vectors(case: Path) -> None:
    try:
        announcement = parse_announcement(load_json((case / "announcement.json").read_bytes(), "announcement"))
    except ProtocolError:
        pytest.skip("refused before any draw")
    inputs = parse_inputs(load_json((case / "inputs.json").read_bytes(), "inputs"))
    drawn_at = (case / "drawn_at").read_text().strip()
    status, result = _both((case / "population.tsv").read_bytes(), announcement, inputs, drawn_at)
    if (case / "result.json").exists() and status == "ok":
        assert result == (case / "result.json").read_bytes()


def _announce(data: bytes, stages: list[Stage]) -> Announcement:
    document = build_announcement(
        draw_id="split",
        title="split",
        office="office",
        population=parse_population(data),
        stages=stages,
        commitment=commitment(SECRET),
        dice_count=3,
        use_drand=False,
        scheduled_at=datetime(2026, 1, 15, 2, tzinfo=UTC),
        announced_at=datetime(2026, 1, 8, 2, tzinfo=UTC),
    )
    return parse_announcement(document)


def _mutations(data: bytes, rng: random.Random) -> list[bytes]:
    lines = data.split(b"\n")[:-1]
    swapped, repeated = list(lines), list(lines)
    i = rng.randrange(1, len(lines))
    swapped[i - 1], swapped[i] = swapped[i], swapped[i - 1]
    repeated[i] = repeated[i - 1]
    other = list(lines)
    other[i] = other[i].split(b"\t")[0] + b"\tunannounced"
    return [
        b"\n".join(swapped) + b"\n",
        b"\n".join(repeated) + b"\n",
        b"\n".join(other) + b"\n",
        b"\n".join(lines[1:]) + b"\n",
        data + b"x",
        data.replace(b"\t", b" ", 1),
        b"",
    ]


@pytest.mark.parametrize("seed", range(12))
def test_random_draws_and_refusals(seed: int, split_always: list[bool]) -> None:
    rng = random.Random(seed)
    n = rng.choice([2, 7, 60, 400, 2500])
    strata = rng.choice([["regular"], ["regular", "non-regular"], ["a", "b", "c"]])
    entries = [
        (f"{rng.choice(['114', 'A', 'z9'])}-{i:05d}{rng.choice(['', '.x', '_y'])}", rng.choice(strata))
        for i in range(n)
    ]
    data = serialize_population(entries)
    counts = parse_population(data).strata_counts()
    if rng.random() < 0.5:
        first = Stage("review", "population", {"*": rng.randrange(n + 1)})
    else:
        first = Stage("review", "population", {key: rng.randrange(count + 1) for key, count in counts.items()})
    stages = [first, Stage("second", "population", {"*": rng.randrange(n + 1)}), Stage("third", "review", {"*": 0})]
    announcement = _announce(data, stages)
    inputs = DrawInputs(secret=SECRET, dice=f"{rng.randrange(1000):03d}")
    assert _both(data, announcement, inputs)[0] == "ok"
    assert split_always[-1], "the split path should have answered a well-formed file"
    for changed in _mutations(data, rng):
        assert _both(changed, announcement, inputs)[0] != "ok"
    assert _both(data, announcement, DrawInputs(secret="cd" * 32, dice=inputs.dice))[0] == "DrawRefused"
    assert _both(data, announcement, inputs, "2026-02-30T00:00:00Z")[0] == "DrawRefused"


def test_a_child_that_fails_means_one_process(monkeypatch: pytest.MonkeyPatch, split_always: list[bool]) -> None:
    entries = [(f"114-{i:05d}", "regular") for i in range(3000)]
    data = serialize_population(entries)
    announcement = _announce(data, [Stage("review", "population", {"*": 30})])
    inputs = DrawInputs(secret=SECRET, dice="123")
    expected = _both(data, announcement, inputs)
    assert split_always == [True]
    monkeypatch.setattr(engine, "_scan_in_child", lambda *args: os._exit(1))
    assert _both(data, announcement, inputs) == expected
    assert split_always == [True, False]
