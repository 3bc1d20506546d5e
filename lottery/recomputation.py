"""Check a bundle's draw inputs and recompute its result (protocol §5–§8).

Inputs: the parsed announcement, `result.json` (bytes and parsed) and the population. Output:
lines added to a `lottery.report.Report` — the secret against its commitment, the dice, the drand
beacon, the seed, and whether every ticket and selected list recomputes exactly.
"""

from collections.abc import Callable
from typing import Any

from lottery.announcement import Announcement, parse_announcement
from lottery.canonical import canonical_json, digest
from lottery.drand import bls_available, check_randomness, check_signature
from lottery.draw import DrawInputs, check_dice, commitment, compute_seed, parse_inputs, run_draw
from lottery.engine import draw_in_slices
from lottery.errors import ProtocolError
from lottery.population import Population
from lottery.report import FAIL, PASS, SKIP, Report, fail

#: A result recomputed from population.tsv's bytes, with the announcement it was drawn under.
Recomputed = tuple[dict[str, Any], Announcement]


def recompute_large_bundle(files: dict[str, bytes], canonical: Callable[[str], Any]) -> Recomputed | None:
    """The recomputed result of a large bundle whose population is exactly the announced one.

    None when the population is small, the work cannot be shared among processes, or anything
    at all is not as announced; the caller then checks one thing at a time.
    """
    try:
        announcement = parse_announcement(canonical("announcement.json"))
        result = canonical("result.json")
        if not isinstance(result, dict):
            return None
        inputs = parse_inputs(result.get("inputs"))
        recomputed = draw_in_slices(
            files["population.tsv"], announcement, inputs, str(result.get("drawn_at")), verify_bls=False
        )
    except ProtocolError:
        return None
    return None if recomputed is None else (recomputed, announcement)


def check_inputs(
    report: Report, announcement: Announcement | None, result: dict[str, Any] | None, check_bls: bool
) -> DrawInputs | None:
    """The secret, the dice and the drand beacon of `result` as announced; the inputs when all hold."""
    if announcement is None or result is None:
        return None
    ann = announcement
    try:
        inputs = parse_inputs(result.get("inputs"))
    except ProtocolError as exc:
        report.add(FAIL, "result inputs are well-formed", str(exc))
        return None
    ok = report.attempt(
        "the revealed secret reproduces the announced commitment",
        lambda: None if commitment(inputs.secret) == ann.commitment else fail("secret does not match the commitment"),
    )
    if ann.dice_count is not None:
        count = ann.dice_count
        ok &= report.attempt(f"dice: {count} digits as announced", lambda: f"{check_dice(inputs.dice, count)}")
    elif inputs.dice is not None:
        ok &= report.attempt("dice", lambda: fail("dice given but not announced"))
    if ann.drand_round is not None:
        beacon_ok = _check_beacon(report, ann.drand_round, inputs, check_bls)
        if beacon_ok is None:
            return None
        ok &= beacon_ok
    elif inputs.drand is not None:
        ok &= report.attempt("drand", lambda: fail("a drand round is given but not announced"))
    return inputs if ok else None


def _check_beacon(report: Report, drand_round: int, inputs: DrawInputs, check_bls: bool) -> bool | None:
    """The announced drand round's randomness and signature; None when the result has another round."""
    beacon = inputs.drand
    if beacon is None or beacon.round != drand_round:
        report.add(FAIL, f"drand round {drand_round} as announced", "the result carries another round or none")
        return None
    ok = report.attempt(f"drand round {beacon.round}: randomness = sha256(signature)", lambda: check_randomness(beacon))
    what = f"drand round {beacon.round}: BLS signature verifies against the quicknet key"
    if not check_bls:
        report.add(SKIP, what, "skipped on request")
    elif not bls_available():
        report.add(SKIP, what, "SKIPPED because py_ecc is not installed (pip install py_ecc)")
    else:
        ok &= report.attempt(what, lambda: check_signature(beacon))
    return ok


def check_draw(
    report: Report,
    published: bytes,
    announcement: Announcement | None,
    result: dict[str, Any] | None,
    inputs: DrawInputs | None,
    population: Population | None,
    recomputed: Recomputed | None,
) -> None:
    """The seed and the whole result recompute (from `recomputed` when the large path gave it)."""
    expected: dict[str, Any] | ProtocolError
    if announcement is None or result is None or inputs is None:
        report.add(FAIL, "the draw recomputes exactly", "not attempted: an earlier check failed")
        return
    if recomputed is not None:
        expected = recomputed[0]
    elif population is not None:
        expected = _draw(population, announcement, inputs, str(result.get("drawn_at")))
    else:
        report.add(FAIL, "the draw recomputes exactly", "not attempted: an earlier check failed")
        return
    _check_recomputation(report, announcement, published, result, inputs, expected)


def _draw(
    population: Population, announcement: Announcement, inputs: DrawInputs, drawn_at: str
) -> dict[str, Any] | ProtocolError:
    """The recomputed result, or the reason it cannot be recomputed."""
    try:
        return run_draw(population, announcement, inputs, drawn_at, verify_bls=False)
    except ProtocolError as exc:
        return exc


def _check_recomputation(
    report: Report,
    announcement: Announcement,
    published: bytes,
    result: dict[str, Any],
    inputs: DrawInputs,
    expected: dict[str, Any] | ProtocolError,
) -> None:
    """Compare the published result (its canonical bytes and parsed form) with the recomputed one."""
    seed = compute_seed(digest(announcement.document), inputs)
    if result.get("seed") != seed:
        report.add(FAIL, "the seed recomputes from the announcement and the inputs", f"expected {seed}")
        return
    report.add(PASS, "the seed recomputes from the announcement and the inputs", seed)
    if isinstance(expected, ProtocolError):
        report.add(FAIL, "the draw recomputes exactly", str(expected))
        return
    if canonical_json(expected) == published:
        sizes = ", ".join(f"{stage['name']} {len(stage['selected'])}" for stage in expected["stages"])
        report.add(PASS, "every ticket, group, threshold and the selected lists recompute exactly", sizes)
    else:
        report.add(
            FAIL,
            "every ticket, group, threshold and the selected lists recompute exactly",
            _difference(expected, result),
        )


def _difference(expected: dict[str, Any], actual: dict[str, Any]) -> str:
    """Name the first place where a published result departs from the recomputed one."""
    actual_stages = actual.get("stages")
    if not isinstance(actual_stages, list) or len(actual_stages) != len(expected["stages"]):
        return "the result has a different number of stages"
    for want, got in zip(expected["stages"], actual_stages, strict=True):
        if not isinstance(got, dict):
            return "a stage is malformed"
        name = want["name"]
        if got.get("groups") != want["groups"]:
            return f"stage {name}: groups or thresholds differ"
        chosen = got.get("selected")
        if not isinstance(chosen, list) or len(chosen) != len(want["selected"]):
            return f"stage {name}: the selected list has the wrong length"
        for w, g in zip(want["selected"], chosen, strict=True):
            if g != w:
                return f"stage {name}: rank {w['rank']} should be {w['id']} with ticket {w['ticket']}"
    for name in sorted(set(expected) | set(actual)):
        if name != "stages" and expected.get(name) != actual.get(name):
            return f"field {name} differs"
    return "the result's bytes differ from the recomputed result"
