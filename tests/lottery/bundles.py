"""Build complete, correctly signed draw bundles from a vector case, for the bundle and CLI tests.

A bundle is what `docs/bundle.md` describes: the five required files, `office.vkey`, a signed
`checkpoint` of a small log holding the draw's `draw.announced` and `draw.completed` entries among
others, `inclusion.json` with the proofs of those two entries, and `VERIFY.md`.
"""

import base64
import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lottery.canonical import canonical_json, digest
from lottery.checkpoint import Checkpoint, sign_checkpoint
from lottery.merkle import inclusion_proof, leaf_hash, tree_hash
from lottery.signing import Signer, sign_document

VECTORS = Path(__file__).parents[1] / "vectors"
STRATIFIED = VECTORS / "draw" / "stratified-244"
ORIGIN = "ethics.example.gov.tw/draws"
CORE = ("population.tsv", "announcement.json", "announcement.json.sig", "result.json", "result.json.sig")


@dataclass
class DrawBundle:
    """The files of one bundle by name, and the key that signs them."""

    signer: Signer
    files: dict[str, bytes]

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

    def sign(self, name: str) -> None:
        """Write `name.sig` with the bundle's key."""
        self.files[name + ".sig"] = sign_document(self.signer, self.files[name])

    def log_entries(self) -> list[dict[str, Any]]:
        """The log: the draw's two events between unrelated ones, as the service would record them."""
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
        """Write `checkpoint` and `inclusion.json` for the current announcement and result."""
        entries = [canonical_json(entry) for entry in self.log_entries()]
        leaves = [leaf_hash(entry) for entry in entries]
        checkpoint = Checkpoint(self.signer.name, len(leaves), tree_hash(leaves))
        self.files["checkpoint"] = sign_checkpoint(self.signer, checkpoint).encode("utf-8")
        proofs = [
            {
                "index": index,
                "size": len(leaves),
                "entry": entries[index].decode("utf-8"),
                "path": [base64.b64encode(node).decode("ascii") for node in inclusion_proof(index, leaves)],
            }
            for index in (1, 3)
        ]
        self.files["inclusion.json"] = json.dumps(proofs, indent=1).encode("utf-8")

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
    bundle.sign("announcement.json")
    bundle.sign("result.json")
    bundle.log()
    return bundle
