"""Build complete, correctly signed draw bundles from a vector case, for the bundle and CLI tests.

A bundle is what `docs/bundle.md` describes: the five required files, `office.vkey`, a signed
`checkpoint` of a small log holding the draw's `draw.announced` and `draw.completed` entries among
others, `inclusion.json` with the proofs of those two entries, and `VERIFY.md`.

`build_bundle(signer, TIMED)` builds the bundle of a draw under the input window (protocol §4–§5),
like the demo's: besides the above, `bindings.tsv` and `events.json`, the log holding the draw's
`draw.input` events (dice, secret, drand, with times inside the window) and a witness's
confirmation. Tests change `DrawBundle.events` and call `log()` to re-sign a different history.
"""

import base64
import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lottery.announcement import parse_announcement
from lottery.canonical import canonical_json, digest
from lottery.checkpoint import Checkpoint, sign_checkpoint
from lottery.draw import parse_inputs, run_draw
from lottery.merkle import inclusion_proof, leaf_hash, tree_hash
from lottery.population import parse_population
from lottery.signing import Signer, sign_document

VECTORS = Path(__file__).parents[1] / "vectors"
STRATIFIED = VECTORS / "draw" / "stratified-244"
TIMED = VECTORS / "draw" / "timed-bindings-244"
#: When the timed bundle's inputs are logged: inside [10:40:00Z, 10:59:00Z), the round at 11:00:03Z.
DICE_TIME, SECRET_TIME, DRAND_TIME = "2023-09-15T10:41:00Z", "2023-09-15T10:44:00Z", "2023-09-15T11:00:05Z"
ORIGIN = "ethics.example.gov.tw/draws"
CORE = ("population.tsv", "announcement.json", "announcement.json.sig", "result.json", "result.json.sig")


@dataclass
class DrawBundle:
    """The files of one bundle by name, and the key that signs them."""

    signer: Signer
    files: dict[str, bytes]
    #: The draw's own log events in log order, or None for a bundle without `events.json`.
    #: `draw.announced` and `draw.completed` get their digests from the current files unless
    #: the event sets them.
    events: list[dict[str, Any]] | None = field(default=None)

    @property
    def announcement(self) -> dict[str, Any]:
        """The announcement document as it stands in the bundle."""
        document: dict[str, Any] = json.loads(self.files["announcement.json"])
        return document

    @property
    def result(self) -> dict[str, Any]:
        """The result document as it stands in the bundle."""
        document: dict[str, Any] = json.loads(self.files["result.json"])
        return document

    def set_result(self, document: dict[str, Any], *, resign: bool) -> None:
        """Replace result.json; with `resign`, sign it again and log the new digest too."""
        self.files["result.json"] = canonical_json(document)
        if resign:
            self.sign("result.json")
            self.log()

    def reannounce(self, document: dict[str, Any]) -> None:
        """Publish `document` as the announcement: redraw, re-sign both documents, log it all again.

        The inputs, `drawn_at` and the events' times stay; the logged input values follow the result.
        """
        population = parse_population(self.files["population.tsv"])
        inputs = parse_inputs(self.result["inputs"])
        result = run_draw(population, parse_announcement(document), inputs, self.result["drawn_at"], verify_bls=False)
        self.files["announcement.json"] = canonical_json(document)
        self.files["result.json"] = canonical_json(result)
        self.sign("announcement.json")
        self.sign("result.json")
        if self.events is not None:
            self.events = timed_events(document, result)
        self.log()

    def sign(self, name: str) -> None:
        """Write `name.sig` with the bundle's key."""
        self.files[name + ".sig"] = sign_document(self.signer, self.files[name])

    def draw_events(self) -> list[dict[str, Any]]:
        """`events` with the digests of `draw.announced` and `draw.completed` filled in."""
        assert self.events is not None
        defaults = self._defaults()
        return [{**defaults.get(event["type"], {}), **event} for event in self.events]

    def _defaults(self) -> dict[str, dict[str, Any]]:
        announcement, result = self.announcement, self.result
        return {
            "draw.announced": {
                "draw_id": announcement["draw_id"],
                "announcement_digest": digest(announcement),
                "population_digest": hashlib.sha256(self.files["population.tsv"]).hexdigest(),
            },
            "draw.completed": {
                "draw_id": result["draw_id"],
                "result_digest": hashlib.sha256(self.files["result.json"]).hexdigest(),
            },
        }

    def log_entries(self) -> list[dict[str, Any]]:
        """The log: the draw's events between unrelated ones, as the service would record them."""
        if self.events is not None:
            entries: list[dict[str, Any]] = [
                {"type": "key.added", "time": "2023-09-01T00:00:00Z", "vkey": self.signer.verifier.vkey}
            ]
            for number, event in enumerate(self.draw_events()):
                entries.append(event)
                entries.append(
                    {
                        "type": "review.recorded",
                        "time": event["time"],
                        "draw_id": "other",
                        "record_digest": f"{number:064x}",
                    }
                )
            return entries
        announcement, result = self.announcement, self.result
        return [
            {"type": "key.added", "time": "2026-01-01T00:00:00Z", "vkey": self.signer.verifier.vkey},
            {
                "type": "draw.announced",
                "time": announcement["announced_at"],
                "draw_id": announcement["draw_id"],
                "announcement_digest": digest(announcement),
                "population_digest": hashlib.sha256(self.files["population.tsv"]).hexdigest(),
            },
            {"type": "review.recorded", "time": "2026-01-09T00:00:00Z", "draw_id": "other", "record_digest": "0" * 64},
            {
                "type": "draw.completed",
                "time": result["drawn_at"],
                "draw_id": result["draw_id"],
                "result_digest": hashlib.sha256(self.files["result.json"]).hexdigest(),
            },
            {"type": "review.recorded", "time": "2026-01-16T00:00:00Z", "draw_id": "other", "record_digest": "1" * 64},
        ]

    def log(self) -> None:
        """Write `checkpoint`, `inclusion.json` and (with `events`) `events.json` for the current files."""
        log = self.log_entries()
        entries = [canonical_json(entry) for entry in log]
        leaves = [leaf_hash(entry) for entry in entries]
        checkpoint = Checkpoint(self.signer.name, len(leaves), tree_hash(leaves))
        self.files["checkpoint"] = sign_checkpoint(self.signer, checkpoint).encode("utf-8")

        def path(index: int) -> list[str]:
            return [base64.b64encode(node).decode("ascii") for node in inclusion_proof(index, leaves)]

        proofs = [
            {"index": index, "size": len(leaves), "entry": entries[index].decode("utf-8"), "path": path(index)}
            for index, entry in enumerate(log)
            if entry["type"] in ("draw.announced", "draw.completed")
        ]
        self.files["inclusion.json"] = json.dumps(proofs, indent=1).encode("utf-8")
        if self.events is not None:
            draw_id = self.announcement["draw_id"]
            listed = self.event_items(
                lambda entry: entry.get("draw_id") == draw_id and entry["type"] != "review.recorded"
            )
            self.files["events.json"] = canonical_json(listed)

    def event_items(self, select: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """`events.json` items (index, entry, proof against the current log) of the entries `select` picks."""
        log = self.log_entries()
        entries = [canonical_json(entry) for entry in log]
        leaves = [leaf_hash(entry) for entry in entries]
        return [
            {
                "index": index,
                "entry": entries[index].decode("utf-8"),
                "proof": [base64.b64encode(node).decode("ascii") for node in inclusion_proof(index, leaves)],
            }
            for index, entry in enumerate(log)
            if select(entry)
        ]

    def write(self, folder: Path, names: tuple[str, ...] | None = None) -> Path:
        """Write the bundle (or only `names`) into `folder` and return it."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            if names is None or name in names:
                (folder / name).write_bytes(data)
        return folder

    def write_zip(self, path: Path, prefix: str = "") -> Path:
        """Write the bundle as a zip, members under `prefix` (e.g. `"stratified-244/"`)."""
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in self.files.items():
                archive.writestr(prefix + name, data)
        return path


def build_bundle(signer: Signer, case: Path = STRATIFIED) -> DrawBundle:
    """A complete bundle for the vector `case`, every document signed by `signer`."""
    bundle = DrawBundle(
        signer,
        {
            "population.tsv": (case / "population.tsv").read_bytes(),
            "announcement.json": (case / "announcement.json").read_bytes(),
            "result.json": (case / "result.json").read_bytes(),
            "office.vkey": (signer.verifier.vkey + "\n").encode("utf-8"),
            "VERIFY.md": b"# Verify this draw\n\n    python -m lottery verify bundle.zip --key office.vkey\n",
        },
    )
    if case == TIMED:
        bundle.files["bindings.tsv"] = (VECTORS / "bindings" / "bindings.tsv").read_bytes()
        bundle.events = timed_events(bundle.announcement, bundle.result)
    bundle.sign("announcement.json")
    bundle.sign("result.json")
    bundle.log()
    return bundle


def timed_events(announcement: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """The events the service logs for a draw under the input window, in log order."""
    draw_id, inputs = announcement["draw_id"], result["inputs"]

    def entered(name: str, time: str) -> dict[str, Any]:
        return {"type": "draw.input", "time": time, "draw_id": draw_id, "name": name, "value": inputs[name]}

    return [
        {"type": "draw.announced", "time": announcement["announced_at"]},
        entered("dice", DICE_TIME),
        entered("secret", SECRET_TIME),
        entered("drand", DRAND_TIME),
        {"type": "draw.completed", "time": result["drawn_at"]},
        {"type": "draw.witness_confirmed", "time": "2023-09-15T11:02:00Z", "draw_id": draw_id, "witness": "王大明"},
    ]
