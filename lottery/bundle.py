"""Verify a published draw bundle (protocol §2–§10), one named check at a time.

The bundle layout is documented in `docs/bundle.md`. Five files are required
(`population.tsv`, `announcement.json`, `result.json` and the two `.sig` files); `office.vkey`,
`checkpoint`, `inclusion.json`, `bindings.tsv`, `events.json` and `witnessed.json` are checked
when present and reported as absent otherwise. With witness keys (`--witness`, `--quorum`) the
witness cosignatures are checked too (`lottery.witnessed`). The notice and the input timing
declared by the announcement are reported on their own lines (protocol §4–§5).

This module checks the documents themselves and runs the checks in order; the parts live beside
it: `lottery.report` (the report), `lottery.bundle_files` (reading a folder or zip),
`lottery.recomputation` (inputs and the recomputed result), `lottery.bundle_log` (checkpoint,
inclusion proofs, events) and `lottery.bundle_witnesses` (cosignatures).
"""

import functools
import hashlib
import time
from collections.abc import Callable
from typing import Any

from lottery import events as draw_events
from lottery.announcement import MIN_NOTICE, Announcement, check_against_population, parse_announcement
from lottery.bindings import parse_bindings
from lottery.bundle_files import MAX_MEMBER_BYTES, OPTIONAL, REQUIRED, read_bundle
from lottery.bundle_log import check_events, check_log
from lottery.bundle_witnesses import WitnessPolicy, check_witnesses
from lottery.canonical import digest, load_canonical
from lottery.cosignature import WitnessVerifier
from lottery.errors import ProtocolError
from lottery.population import Population, parse_population
from lottery.recomputation import Recomputed, check_draw, check_inputs, recompute_large_bundle
from lottery.report import FAIL, PASS, SKIP, Check, Report
from lottery.signing import Verifier, load_vkey, parse_vkey, verify_document
from lottery.timestamps import format_timestamp

__all__ = [
    "FAIL",
    "MAX_MEMBER_BYTES",
    "OPTIONAL",
    "PASS",
    "REQUIRED",
    "SKIP",
    "Check",
    "Report",
    "WitnessPolicy",
    "read_bundle",
    "verify_bundle",
]


def verify_bundle(
    files: dict[str, bytes],
    key: str | None = None,
    *,
    check_bls: bool = True,
    witnesses: list[WitnessVerifier] | None = None,
    quorum: int = 0,
    now: int | None = None,
) -> Report:
    """Check everything in a bundle; `key` is a vkey string or file (else `office.vkey` is used).

    With `witnesses`, the bundle checkpoint must carry at least `quorum` of their cosignatures
    and the draw's inputs must have been witnessed before the beacon; `now` (POSIX seconds,
    default the clock) is the limit beyond which a cosignature is dated in the future.
    """
    report = Report()
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        report.add(FAIL, "bundle has the five required files", "missing " + ", ".join(missing))
        return report

    @functools.cache
    def canonical(name: str) -> Any:
        # Each document is parsed once; a refusal is not cached, so every check that needs the
        # document reports it.
        return load_canonical(files[name], name)

    # A large honest bundle is recomputed straight from the bytes of population.tsv, its slices
    # read in parallel (`lottery.engine.draw_in_slices`); that succeeds only when the file is
    # canonical and exactly the announced population. Anything else takes the path below, one
    # check at a time, which says what is wrong.
    recomputed = recompute_large_bundle(files, canonical)
    population, population_digest = _check_population(report, files, recomputed)
    announcement = _check_announcement(report, canonical)
    if population_digest is not None and announcement is not None:
        ann, pop = announcement, population
        report.attempt(
            "population.tsv is the announced population (digest, size, strata)",
            lambda: None if pop is None else check_against_population(ann, pop),
        )
    if announcement is not None:
        _check_timing(report, announcement)
        _check_bindings(report, files, announcement)
    verifier = _check_key(report, files, key)
    _check_signatures(report, files, verifier)
    result = _check_result(report, files, canonical, announcement)
    inputs = check_inputs(report, announcement, result, check_bls)
    check_draw(report, files["result.json"], announcement, result, inputs, population, recomputed)
    checkpoint = check_log(report, files, verifier, announcement, population_digest)
    logged = check_events(report, files, checkpoint, announcement, population_digest, result)
    policy = WitnessPolicy(witnesses or [], quorum, int(time.time()) if now is None else now)
    check_witnesses(report, files, verifier, checkpoint, announcement, logged, policy)
    return report


def _check_population(
    report: Report, files: dict[str, bytes], recomputed: Recomputed | None
) -> tuple[Population | None, str | None]:
    """`population.tsv` is canonical; the parsed population (unless the large path read it) and its digest."""
    population: Population | None = None
    population_digest: str | None = None

    def check() -> str:
        nonlocal population, population_digest
        if recomputed is not None:
            size, population_digest = recomputed[1].population_size, recomputed[1].population_digest
            return f"{size} entries, sha256 {population_digest}"
        population = parse_population(files["population.tsv"])
        population_digest = population.digest
        return f"{population.size} entries, sha256 {population.digest}"

    report.attempt("population.tsv is canonical", check)
    return population, population_digest


def _check_announcement(report: Report, canonical: Callable[[str], Any]) -> Announcement | None:
    """`announcement.json` is a canonical announcement; the parsed announcement when it is."""
    announcement: Announcement | None = None

    def check() -> str:
        nonlocal announcement
        announcement = parse_announcement(canonical("announcement.json"))
        return f"draw {announcement.draw_id}, digest {digest(announcement.document)}"

    report.attempt("announcement.json is a canonical sunshine-draw/1 announcement", check)
    return announcement


def _check_key(report: Report, files: dict[str, bytes], key: str | None) -> Verifier | None:
    """The office's verifier key, given with `--key` or else the bundle's `office.vkey`."""
    verifier: Verifier | None = None

    def check() -> str:
        nonlocal verifier
        if key is not None:
            verifier = load_vkey(key)
            return f"{verifier.vkey} (given with --key)"
        if "office.vkey" not in files:
            raise ProtocolError("no key given with --key and no office.vkey in the bundle")
        verifier = parse_vkey(files["office.vkey"].decode("utf-8", "replace"))
        return f"{verifier.vkey} (from the bundle's office.vkey; compare it with the office's published key)"

    report.attempt("office verifier key", check)
    return verifier


def _check_signatures(report: Report, files: dict[str, bytes], verifier: Verifier | None) -> None:
    """The office's signatures over `announcement.json` and `result.json`."""
    for name in ("announcement.json", "result.json"):
        what = f"{name}.sig is the office's signature over {name}"
        if verifier is not None:
            report.attempt(what, functools.partial(verify_document, verifier, files[name], files[name + ".sig"]))
        else:
            report.add(FAIL, what, "no usable key")


def _check_result(
    report: Report, files: dict[str, bytes], canonical: Callable[[str], Any], announcement: Announcement | None
) -> dict[str, Any] | None:
    """`result.json` is canonical and names this announcement; the parsed result when it is."""
    result: dict[str, Any] | None = None

    def check() -> str:
        nonlocal result
        document = canonical("result.json")
        if not isinstance(document, dict):
            raise ProtocolError("result.json must be a JSON object")
        if announcement is not None:
            if document.get("announcement_digest") != digest(announcement.document):
                raise ProtocolError("result names a different announcement digest")
            if document.get("draw_id") != announcement.draw_id:
                raise ProtocolError("result names a different draw_id")
        result = document
        # The bytes are canonical (checked above), so their hash is the document's digest.
        return f"digest {hashlib.sha256(files['result.json']).hexdigest()}"

    report.attempt("result.json is canonical and belongs to this announcement", check)
    return result


def _check_timing(report: Report, announcement: Announcement) -> None:
    """The notice given, the input window and the drand margin (protocol §4), one line each."""
    notice = announcement.notice
    what = f"notice given: {draw_events.describe_duration(notice)}"
    detail = (
        f"announced {format_timestamp(announcement.announced_at)}, "
        f"draw at {format_timestamp(announcement.scheduled_at)}"
    )
    if notice >= MIN_NOTICE:
        report.add(PASS, what, detail, "notice")
    elif announcement.inputs_close_at is not None:
        report.add(FAIL, what, f"less than the 24 hours protocol §4 requires ({detail})", "notice")
    else:
        report.add(SKIP, what, f"less than 24 hours, but the announcement predates that rule ({detail})", "notice")
    close = announcement.inputs_close_at
    if close is None:
        report.add(
            SKIP,
            "timing",
            "not declared (the announcement has no inputs_close_at: it predates the input window, protocol §4)",
            "timing",
        )
        return
    window = draw_events.describe_duration(close - announcement.scheduled_at)
    report.add(
        PASS,
        "input window: dice and secret accepted from scheduled_at until inputs_close_at",
        f"{format_timestamp(announcement.scheduled_at)} – {format_timestamp(close)} ({window})",
        "timing",
    )
    if announcement.drand_round is not None:
        report.attempt(
            f"drand round {announcement.drand_round} comes at least 30 s after inputs close",
            lambda: draw_events.drand_margin(announcement),
            "drand-margin",
        )


def _check_bindings(report: Report, files: dict[str, bytes], announcement: Announcement) -> None:
    """`bindings.tsv` against `population.bindings_digest` and the population's ids (protocol §2a)."""
    what = "bindings.tsv is the committed bindings file (digest, ids and order of population.tsv)"
    expected = announcement.bindings_digest
    if "bindings.tsv" not in files:
        detail = "absent from the bundle" if expected else "absent; the announcement commits to no bindings"
        report.add(SKIP, what, detail, "bindings")
        return
    if expected is None:
        report.add(SKIP, what, "present, but the announcement carries no bindings_digest to check it", "bindings")
        return
    data = files["bindings.tsv"]

    def check() -> str:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ProtocolError(f"sha256 {actual}, the announcement's bindings_digest is {expected}")
        count = len(parse_bindings(data, parse_population(files["population.tsv"])))
        return f"{count} lines, sha256 {actual}"

    report.attempt(what, check, "bindings")
