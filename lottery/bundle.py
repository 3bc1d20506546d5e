"""Verify a published draw bundle (protocol §2–§10), one named check at a time.

The bundle layout is documented in `docs/bundle.md`. Five files are required
(`population.tsv`, `announcement.json`, `result.json` and the two `.sig` files); `office.vkey`,
`checkpoint`, `inclusion.json`, `bindings.tsv`, `events.json` and `witnessed.json` are checked
when present and reported as absent otherwise. With witness keys (`--witness`, `--quorum`) the
witness cosignatures are checked too (`lottery.witnessed`). The notice and the input timing
declared by the announcement are reported on their own lines (protocol §4–§5).
"""

import base64
import binascii
import functools
import hashlib
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lottery import events as draw_events
from lottery.announcement import MIN_NOTICE, Announcement, check_against_population, parse_announcement
from lottery.bindings import parse_bindings
from lottery.canonical import canonical_json, digest, load_canonical, load_json
from lottery.checkpoint import Checkpoint, open_checkpoint
from lottery.cosignature import WitnessVerifier
from lottery.drand import bls_available, check_randomness, check_signature, round_time
from lottery.draw import DrawInputs, check_dice, commitment, compute_seed, parse_inputs, run_draw
from lottery.engine import draw_in_slices
from lottery.errors import ProtocolError
from lottery.merkle import leaf_hash, verify_inclusion
from lottery.population import Population, parse_population
from lottery.signing import Verifier, load_vkey, parse_vkey, verify_document
from lottery.timestamps import format_timestamp
from lottery.witnessed import (
    CosignedCheckpoint,
    check_witnessed,
    cosigned_by,
    describe,
    earliest_cosignatures,
    quorum_moment,
    utc,
)

REQUIRED = ("population.tsv", "announcement.json", "announcement.json.sig", "result.json", "result.json.sig")
OPTIONAL = ("office.vkey", "checkpoint", "inclusion.json", "bindings.tsv", "events.json", "witnessed.json")
#: A bundle member larger than this is refused before it is read (zip bombs, runaway files).
MAX_MEMBER_BYTES = 512 * 1024 * 1024

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class Check:
    """One line of the verification report."""

    outcome: str
    what: str
    detail: str = ""
    #: A stable name for checks that the browser verifier also makes (e.g. `events-order`).
    key: str = ""

    def line(self) -> str:
        """The check as the CLI prints it."""
        mark = {PASS: "✓", FAIL: "✗", SKIP: "–"}[self.outcome]
        return f"{mark} {self.what}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Report:
    """Every check made on a bundle; `ok` only when none failed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed (absent optional parts and skipped checks do not fail)."""
        return all(check.outcome != FAIL for check in self.checks)

    def add(self, outcome: str, what: str, detail: str = "", key: str = "") -> None:
        """Record one check."""
        self.checks.append(Check(outcome, what, detail, key))

    def attempt(self, what: str, action: Callable[[], str | None], key: str = "") -> bool:
        """Run `action`; a `ProtocolError` fails the check with its message. Returns success."""
        try:
            detail = action()
        except ProtocolError as exc:
            self.add(FAIL, what, str(exc), key)
            return False
        self.add(PASS, what, detail or "", key)
        return True

    def outcomes(self) -> dict[str, str]:
        """`{key: outcome}` of the keyed checks (the ones the browser verifier names alike)."""
        return {check.key: check.outcome for check in self.checks if check.key}


def read_bundle(location: str | Path) -> dict[str, bytes]:
    """Read the bundle's known files from a folder or a zip (members may sit in one subfolder)."""
    path = Path(location)
    names = REQUIRED + OPTIONAL
    files: dict[str, bytes] = {}
    if path.is_dir():
        for name in names:
            member = path / name
            if member.is_file():
                if member.stat().st_size > MAX_MEMBER_BYTES:
                    raise ProtocolError(f"{name} is larger than {MAX_MEMBER_BYTES} bytes")
                files[name] = member.read_bytes()
        return files
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                base = info.filename.rsplit("/", 1)[-1]
                if base in names and info.filename.count("/") <= 1 and base not in files:
                    if info.file_size > MAX_MEMBER_BYTES:
                        raise ProtocolError(f"{base} is larger than {MAX_MEMBER_BYTES} bytes")
                    with archive.open(info) as handle:
                        data = handle.read(MAX_MEMBER_BYTES + 1)
                    if len(data) > MAX_MEMBER_BYTES:
                        raise ProtocolError(f"{base} is larger than {MAX_MEMBER_BYTES} bytes")
                    files[base] = data
    except FileNotFoundError:
        raise ProtocolError(f"no bundle at {location}") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ProtocolError(f"{location} is neither a folder nor a readable zip: {exc}") from None
    return files


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
    recomputed = _draw_in_slices(files, canonical)
    population: Population | None = None
    population_digest: str | None = None
    announcement: Announcement | None = None
    result: dict[str, Any] | None = None
    verifier: Verifier | None = None

    def check_population() -> str:
        nonlocal population, population_digest
        if recomputed is not None:
            size, population_digest = recomputed[1].population_size, recomputed[1].population_digest
            return f"{size} entries, sha256 {population_digest}"
        population = parse_population(files["population.tsv"])
        population_digest = population.digest
        return f"{population.size} entries, sha256 {population.digest}"

    def check_announcement() -> str:
        nonlocal announcement
        announcement = parse_announcement(canonical("announcement.json"))
        return f"draw {announcement.draw_id}, digest {digest(announcement.document)}"

    report.attempt("population.tsv is canonical", check_population)
    report.attempt("announcement.json is a canonical sunshine-draw/1 announcement", check_announcement)
    if population_digest is not None and announcement is not None:
        ann, pop = announcement, population
        report.attempt(
            "population.tsv is the announced population (digest, size, strata)",
            lambda: None if pop is None else check_against_population(ann, pop),
        )
    if announcement is not None:
        _check_timing(report, announcement)
        _check_bindings(report, files, announcement)

    def check_key() -> str:
        nonlocal verifier
        if key is not None:
            verifier = load_vkey(key)
            return f"{verifier.vkey} (given with --key)"
        if "office.vkey" not in files:
            raise ProtocolError("no key given with --key and no office.vkey in the bundle")
        verifier = parse_vkey(files["office.vkey"].decode("utf-8", "replace"))
        return f"{verifier.vkey} (from the bundle's office.vkey; compare it with the office's published key)"

    report.attempt("office verifier key", check_key)
    for name in ("announcement.json", "result.json"):
        if verifier is not None:
            signer = verifier
            report.attempt(
                f"{name}.sig is the office's signature over {name}",
                lambda name=name, signer=signer: verify_document(signer, files[name], files[name + ".sig"]),  # type: ignore[misc]
            )
        else:
            report.add(FAIL, f"{name}.sig is the office's signature over {name}", "no usable key")

    def check_result() -> str:
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

    report.attempt("result.json is canonical and belongs to this announcement", check_result)
    inputs = _check_inputs(report, announcement, result, check_bls)
    if population_digest is not None and announcement is not None and result is not None and inputs is not None:
        expected: dict[str, Any] | ProtocolError
        if recomputed is not None:
            expected = recomputed[0]
        elif population is not None:
            expected = _draw(population, announcement, inputs, str(result.get("drawn_at")))
        else:  # not reached: the digest comes from the one or the other
            expected = ProtocolError("the population was not read")
        _check_recomputation(report, announcement, files["result.json"], result, inputs, expected)
    else:
        report.add(FAIL, "the draw recomputes exactly", "not attempted: an earlier check failed")
    checkpoint = _check_log(report, files, verifier, announcement, population_digest)
    logged = _check_events(report, files, checkpoint, announcement, population_digest, result)
    policy = WitnessPolicy(witnesses or [], quorum, int(time.time()) if now is None else now)
    _check_witnesses(report, files, verifier, checkpoint, announcement, logged, policy)
    return report


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


def _check_events(
    report: Report,
    files: dict[str, bytes],
    checkpoint: Checkpoint | None,
    announcement: Announcement | None,
    population_digest: str | None,
    result: dict[str, Any] | None,
) -> list[draw_events.LoggedEvent] | None:
    """`events.json`: inclusion, the logged inputs, their order and times (protocol §5, §10, §12).

    Returns the events when they are proven in the checkpoint, else None.
    """
    if "events.json" not in files:
        report.add(SKIP, "the draw's logged events (events.json)", "absent from the bundle", "events")
        return None
    try:
        events = draw_events.parse_events(files["events.json"])
        if announcement is None or result is None:
            raise ProtocolError("not checked: the announcement or the result did not verify")
        detail = draw_events.check_identity(
            events,
            announcement.draw_id,
            digest(announcement.document),
            population_digest,
            hashlib.sha256(files["result.json"]).hexdigest(),
        )
    except ProtocolError as exc:
        report.add(FAIL, "events.json is well-formed and names this draw", str(exc), "events")
        return None
    report.add(PASS, "events.json is well-formed and names this draw", detail, "events")
    ann = announcement

    def inclusion() -> str:
        if checkpoint is None:
            raise ProtocolError("no checkpoint that verifies to prove them against")
        return draw_events.check_inclusion(events, checkpoint)

    included = report.attempt("every event in events.json is in the checkpoint", inclusion, "events-inclusion")
    report.attempt(
        "the logged draw.input values are result.json's inputs",
        lambda: draw_events.check_input_values(events, ann, result.get("inputs")),
        "events-inputs",
    )
    sources = " → ".join(["announced", *draw_events.announced_sources(ann), "completed"])
    report.attempt(
        f"the events are logged in order {sources}", lambda: draw_events.check_order(events, ann), "events-order"
    )
    window = "within [scheduled_at, inputs_close_at)" if ann.inputs_close_at is not None else "at or after scheduled_at"
    report.attempt(
        f"dice and secret were entered {window}", lambda: draw_events.check_input_times(events, ann), "events-times"
    )
    return events if included else None


@dataclass(frozen=True)
class WitnessPolicy:
    """Whose cosignatures count (`--witness`), how many must agree (`--quorum`), and the clock."""

    witnesses: list[WitnessVerifier]
    quorum: int
    now: int


def _check_witnesses(
    report: Report,
    files: dict[str, bytes],
    verifier: Verifier | None,
    checkpoint: Checkpoint | None,
    announcement: Announcement | None,
    events: list[draw_events.LoggedEvent] | None,
    policy: WitnessPolicy,
) -> None:
    """`witnessed.json`, the quorum on the checkpoint and "inputs witnessed before the beacon"."""
    notes: list[CosignedCheckpoint] = []
    what = "witnessed.json: every note is signed by the office key and consistent with the checkpoint"
    if "witnessed.json" not in files:
        report.add(SKIP, what, "absent from the bundle", "witnessed")
    else:

        def check_notes() -> str:
            if verifier is None or checkpoint is None:
                raise ProtocolError("not checked: the checkpoint did not verify")
            notes.extend(check_witnessed(files["witnessed.json"], verifier, checkpoint, policy.witnesses, policy.now))
            sizes = ", ".join(str(note.checkpoint.size) for note in notes)
            return f"{len(notes)} notes, sizes {sizes or '(none)'} of {checkpoint.size}"

        if not report.attempt(what, check_notes, "witnessed"):
            notes.clear()
    if not policy.witnesses:
        report.add(SKIP, "witness cosignatures on the checkpoint", "no --witness given", "witness-quorum")
        report.add(SKIP, "inputs witnessed before the beacon", "no --witness given", "witness-before-beacon")
        return
    _check_quorum(report, files, checkpoint, policy, notes)
    _check_before_beacon(report, announcement, events, policy, notes)


def _check_quorum(
    report: Report,
    files: dict[str, bytes],
    checkpoint: Checkpoint | None,
    policy: WitnessPolicy,
    notes: list[CosignedCheckpoint],
) -> None:
    """At least K of the given witnesses cosigned the bundle checkpoint; adds it to `notes`.

    A `witnessed.json` note of the checkpoint's size is the same tree (its consistency proof is
    empty and its root the same), so its cosignatures count as well.
    """
    count, quorum = len(policy.witnesses), policy.quorum
    what = f"the checkpoint is cosigned by at least {quorum} of the {count} given witnesses"

    def check() -> str:
        if checkpoint is None:
            raise ProtocolError("no checkpoint that verifies")
        own = cosigned_by(files["checkpoint"].decode("utf-8", "replace"), policy.witnesses, policy.now)
        same_tree = [note for note in notes if note.checkpoint.size == checkpoint.size]
        notes.append(CosignedCheckpoint(checkpoint, own))
        cosigned = earliest_cosignatures([*same_tree, notes[-1]], checkpoint.size - 1)
        missing = sorted(witness.name for witness in policy.witnesses if witness.name not in cosigned)
        absent = f"; not by {', '.join(missing)}" if missing else ""
        if len(cosigned) < quorum:
            raise ProtocolError(f"only {len(cosigned)}: {describe(cosigned) or 'none'}{absent}")
        return f"{describe(cosigned)}{absent}"

    report.attempt(what, check, "witness-quorum")


def _check_before_beacon(
    report: Report,
    announcement: Announcement | None,
    events: list[draw_events.LoggedEvent] | None,
    policy: WitnessPolicy,
    notes: list[CosignedCheckpoint],
) -> None:
    """Had K witnesses cosigned a tree holding the dice and the secret before the drand round?"""
    key, what = "witness-before-beacon", "inputs witnessed before the beacon"
    if announcement is None or announcement.drand_round is None:
        report.add(SKIP, what, "the draw uses no drand beacon", key)
        return
    if events is None:
        report.add(SKIP, what, "no verified events.json to find the logged dice and secret in", key)
        return
    inputs = {
        str(event.event.get("name")): event.index
        for event in events
        if event.type == "draw.input" and event.event.get("name") in ("dice", "secret")
    }
    if not inputs:
        report.add(SKIP, what, "the draw logs no dice or secret input", key)
        return
    last = max(inputs.values())
    logged = ", ".join(f"{name} at index {index}" for name, index in sorted(inputs.items(), key=lambda kv: kv[1]))
    beacon = round_time(announcement.drand_round)
    beacon_text = f"drand round {announcement.drand_round} at {utc(beacon)}"
    earliest = earliest_cosignatures(notes, last)
    moment = quorum_moment(earliest, policy.quorum)
    seen = describe(earliest) or "none"
    if moment is None:
        detail = f"{logged}; fewer than {policy.quorum} witnesses cosigned a checkpoint larger than {last} ({seen})"
        report.add(FAIL, f"{what}: not witnessed", f"{detail}; {beacon_text}", key)
        return
    detail = f"{logged}; {policy.quorum} witnesses had cosigned a checkpoint holding them at {utc(moment)} ({seen})"
    if moment < beacon:
        report.add(PASS, f"{what}: yes", f"{detail}, before {beacon_text}", key)
    else:
        report.add(FAIL, f"{what}: no", f"{detail}, not before {beacon_text}", key)


def _draw_in_slices(
    files: dict[str, bytes], canonical: Callable[[str], Any]
) -> tuple[dict[str, Any], Announcement] | None:
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


def _draw(
    population: Population, announcement: Announcement, inputs: DrawInputs, drawn_at: str
) -> dict[str, Any] | ProtocolError:
    """The recomputed result, or the reason it cannot be recomputed."""
    try:
        return run_draw(population, announcement, inputs, drawn_at, verify_bls=False)
    except ProtocolError as exc:
        return exc


def _check_inputs(
    report: Report, announcement: Announcement | None, result: dict[str, Any] | None, check_bls: bool
) -> DrawInputs | None:
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
        lambda: None if commitment(inputs.secret) == ann.commitment else _fail("secret does not match the commitment"),
    )
    if ann.dice_count is not None:
        count = ann.dice_count
        ok &= report.attempt(f"dice: {count} digits as announced", lambda: f"{check_dice(inputs.dice, count)}")
    elif inputs.dice is not None:
        ok &= report.attempt("dice", lambda: _fail("dice given but not announced"))
    if ann.drand_round is not None:
        beacon = inputs.drand
        if beacon is None or beacon.round != ann.drand_round:
            report.add(FAIL, f"drand round {ann.drand_round} as announced", "the result carries another round or none")
            return None
        ok &= report.attempt(
            f"drand round {beacon.round}: randomness = sha256(signature)", lambda: check_randomness(beacon)
        )
        what = f"drand round {beacon.round}: BLS signature verifies against the quicknet key"
        if not check_bls:
            report.add(SKIP, what, "skipped on request")
        elif not bls_available():
            report.add(SKIP, what, "SKIPPED because py_ecc is not installed (pip install py_ecc)")
        else:
            ok &= report.attempt(what, lambda: check_signature(beacon))
    elif inputs.drand is not None:
        ok &= report.attempt("drand", lambda: _fail("a drand round is given but not announced"))
    return inputs if ok else None


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


def _check_log(
    report: Report,
    files: dict[str, bytes],
    verifier: Verifier | None,
    announcement: Announcement | None,
    population_digest: str | None,
) -> Checkpoint | None:
    """Check the checkpoint and `inclusion.json`; return the checkpoint when it verified."""
    if "checkpoint" not in files:
        report.add(SKIP, "log checkpoint", "absent from the bundle")
        report.add(SKIP, "inclusion of the draw's log entries", "absent from the bundle")
        return None
    checkpoint: Checkpoint | None = None

    def check_checkpoint() -> str:
        nonlocal checkpoint
        if verifier is None:
            raise ProtocolError("no usable key")
        checkpoint = open_checkpoint(files["checkpoint"].decode("utf-8", "replace"), [verifier])
        return f"log {checkpoint.origin} of size {checkpoint.size}"

    report.attempt("checkpoint is signed by the office key", check_checkpoint)
    if "inclusion.json" not in files:
        report.add(SKIP, "inclusion of the draw's log entries", "inclusion.json absent from the bundle")
        return checkpoint
    try:
        proofs = load_json(files["inclusion.json"], "inclusion.json")
        if not isinstance(proofs, list) or not proofs:
            raise ProtocolError("inclusion.json must be a non-empty list of proofs")
    except ProtocolError as exc:
        report.add(FAIL, "inclusion of the draw's log entries", str(exc))
        return checkpoint
    expected = _expected_entries(files, announcement, population_digest)
    for proof in proofs:
        report.attempt(
            f"log entry {_entry_label(proof)} is in the checkpoint",
            lambda proof=proof: _check_one_inclusion(proof, checkpoint, expected),  # type: ignore[misc]
        )
    # Without this, leaving out the draw.completed proof would let a swapped result pass.
    proven = {_entry_type(proof) for proof in proofs}
    for kind in sorted(set(expected) - proven):
        report.add(FAIL, f"log entry {kind} is in the checkpoint", "inclusion.json has no proof for it")
    return checkpoint


def _expected_entries(
    files: dict[str, bytes], announcement: Announcement | None, population_digest: str | None
) -> dict[str, dict[str, str]]:
    expected: dict[str, dict[str, str]] = {}
    if announcement is not None:
        expected["draw.announced"] = {
            "draw_id": announcement.draw_id,
            "announcement_digest": digest(announcement.document),
            "population_digest": population_digest or "",
        }
        expected["draw.completed"] = {
            "draw_id": announcement.draw_id,
            "result_digest": hashlib.sha256(files["result.json"]).hexdigest(),
        }
    return expected


def _entry_type(proof: object) -> str | None:
    if isinstance(proof, dict) and isinstance(proof.get("entry"), str):
        try:
            entry = load_json(proof["entry"].encode("utf-8"), "entry")
        except ProtocolError:
            return None
        if isinstance(entry, dict):
            return str(entry.get("type"))
    return None


def _entry_label(proof: object) -> str:
    kind = _entry_type(proof)
    if kind is None or not isinstance(proof, dict):
        return "(malformed)"
    return f"{kind} (index {proof.get('index')})"


def _check_one_inclusion(proof: object, checkpoint: Checkpoint | None, expected: dict[str, dict[str, str]]) -> str:
    if checkpoint is None:
        raise ProtocolError("the checkpoint did not verify")
    if not isinstance(proof, dict) or not isinstance(proof.get("entry"), str):
        raise ProtocolError("proof must be {index, size, entry, path}")
    index, size, path = proof.get("index"), proof.get("size"), proof.get("path")
    if not isinstance(index, int) or not isinstance(size, int) or not isinstance(path, list):
        raise ProtocolError("proof must be {index, size, entry, path}")
    if size != checkpoint.size:
        raise ProtocolError(f"proof is for tree size {size}, the checkpoint has {checkpoint.size}")
    entry_bytes = proof["entry"].encode("utf-8")
    entry = load_canonical(entry_bytes, "log entry")
    want = expected.get(str(entry.get("type"))) if isinstance(entry, dict) else None
    if want is None:
        raise ProtocolError("entry is not a draw event of this bundle")
    for name, value in want.items():
        if entry.get(name) != value:
            raise ProtocolError(f"entry's {name} does not match this bundle")
    try:
        hashes = [base64.b64decode(item, validate=True) for item in path]
    except (binascii.Error, TypeError, ValueError):
        raise ProtocolError("proof path is not base64") from None
    verify_inclusion(index, size, leaf_hash(entry_bytes), hashes, checkpoint.root)
    return f"index {index} of {size}"


def _fail(message: str) -> None:
    raise ProtocolError(message)
