"""Single changes to the timed bundle (`build_bundle(signer, TIMED)`) and the checks each must fail.

Shared by the Python verifier's tests (tests/lottery/test_bundle_timing.py) and the browser
verifier's (tests/public_site/test_verifier_node.py), so that both are shown the same bundles.
Each case: (id, change, keys of the checks that fail). Keys are `Check.key` in `lottery.bundle`
and the check ids in `public_site/static/verify/bundle.js`.
"""

import base64
import copy
import json
from collections.abc import Callable

from lottery.bindings import bindings_digest
from tests.lottery.bundles import DrawBundle

Change = Callable[[DrawBundle], None]


def _event(bundle: DrawBundle, kind: str, name: str | None = None) -> dict[str, object]:
    assert bundle.events is not None
    for event in bundle.events:
        if event["type"] == kind and (name is None or event.get("name") == name):
            return event
    raise AssertionError(f"no {kind} {name} event")


def _retime(name: str, time: str) -> Change:
    def change(bundle: DrawBundle) -> None:
        _event(bundle, "draw.input", name)["time"] = time
        bundle.log()

    return change


def _revalue(bundle: DrawBundle) -> None:
    _event(bundle, "draw.input", "dice")["value"] = "0" * 20
    bundle.log()


def _drop(name: str) -> Change:
    def change(bundle: DrawBundle) -> None:
        assert bundle.events is not None
        bundle.events.remove(_event(bundle, "draw.input", name))
        bundle.log()

    return change


def _swap_dice_and_secret(bundle: DrawBundle) -> None:
    assert bundle.events is not None
    dice, secret = (
        bundle.events.index(_event(bundle, "draw.input", "dice")),
        bundle.events.index(_event(bundle, "draw.input", "secret")),
    )
    bundle.events[dice], bundle.events[secret] = bundle.events[secret], bundle.events[dice]
    bundle.log()


def _drand_before_secret(bundle: DrawBundle) -> None:
    assert bundle.events is not None
    drand = _event(bundle, "draw.input", "drand")
    bundle.events.remove(drand)
    bundle.events.insert(2, drand)
    bundle.log()


def _abandoned_too(bundle: DrawBundle) -> None:
    assert bundle.events is not None
    completed = bundle.events.index(_event(bundle, "draw.completed"))
    abandoned = {"type": "draw.abandoned", "time": "2023-09-15T11:00:06Z", "draw_id": bundle.announcement["draw_id"]}
    bundle.events.insert(completed, {**abandoned, "reason": "test", "inputs": bundle.result["inputs"]})
    bundle.log()


def _witness_before_completed(bundle: DrawBundle) -> None:
    assert bundle.events is not None
    witness = _event(bundle, "draw.witness_confirmed")
    bundle.events.remove(witness)
    bundle.events.insert(2, witness)
    bundle.log()


def _proof_byte(bundle: DrawBundle) -> None:
    listed = json.loads(bundle.files["events.json"])
    raw = bytearray(base64.b64decode(listed[2]["proof"][0]))
    raw[0] ^= 0x01
    listed[2]["proof"][0] = base64.b64encode(raw).decode()
    bundle.files["events.json"] = json.dumps(listed).encode()


def _entry_changed(bundle: DrawBundle) -> None:
    listed = json.loads(bundle.files["events.json"])
    entry = json.loads(listed[1]["entry"])
    entry["time"] = "2023-09-15T10:41:01Z"
    listed[1]["entry"] = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    bundle.files["events.json"] = json.dumps(listed).encode()


def _other_draw(bundle: DrawBundle) -> None:
    # A forged file slips in a logged entry, with its valid proof, of another draw.
    draw_id = bundle.announcement["draw_id"]
    listed = bundle.event_items(lambda entry: entry.get("draw_id") == draw_id and entry["type"] != "review.recorded")
    other = bundle.event_items(lambda entry: entry.get("draw_id") == "other")
    bundle.files["events.json"] = json.dumps(sorted([*listed, other[2]], key=lambda item: item["index"])).encode()


def _events_not_json(bundle: DrawBundle) -> None:
    bundle.files["events.json"] = b"[{"


def _events_unsorted(bundle: DrawBundle) -> None:
    listed = json.loads(bundle.files["events.json"])
    listed[0], listed[1] = listed[1], listed[0]
    bundle.files["events.json"] = json.dumps(listed).encode()


def _no_checkpoint(bundle: DrawBundle) -> None:
    del bundle.files["checkpoint"]


def _bindings_line(bundle: DrawBundle) -> None:
    data = bundle.files["bindings.tsv"]
    first = data.split(b"\n", 1)[0]
    bundle.files["bindings.tsv"] = data.replace(first, first[:-1] + (b"0" if first[-1:] != b"0" else b"1"), 1)


def _bindings_reordered_and_announced(bundle: DrawBundle) -> None:
    lines = bundle.files["bindings.tsv"].split(b"\n")[:-1]
    lines[0], lines[1] = lines[1], lines[0]
    data = b"\n".join(lines) + b"\n"
    bundle.files["bindings.tsv"] = data
    document = copy.deepcopy(bundle.announcement)
    document["population"]["bindings_digest"] = bindings_digest(data)
    bundle.reannounce(document)


def _short_notice(bundle: DrawBundle) -> None:
    document = copy.deepcopy(bundle.announcement)
    document["announced_at"] = "2023-09-14T10:40:01Z"  # 23 h 59 min 59 s
    bundle.reannounce(document)


def _no_events(bundle: DrawBundle) -> None:
    del bundle.files["events.json"]


def _no_bindings(bundle: DrawBundle) -> None:
    del bundle.files["bindings.tsv"]


#: (id, change, keys of the checks that fail). An empty set: the bundle still verifies.
CASES: list[tuple[str, Change, set[str]]] = [
    ("unchanged", lambda bundle: None, set()),
    ("dice-at-close", _retime("dice", "2023-09-15T10:59:00Z"), {"events-times"}),
    ("secret-after-close", _retime("secret", "2023-09-15T11:00:04Z"), {"events-times"}),
    ("dice-before-start", _retime("dice", "2023-09-15T10:39:59Z"), {"events-times"}),
    ("dice-value", _revalue, {"events-inputs"}),
    ("secret-missing", _drop("secret"), {"events-inputs", "events-order"}),
    ("dice-secret-swapped", _swap_dice_and_secret, {"events-order"}),
    ("drand-before-secret", _drand_before_secret, {"events-order"}),
    ("abandoned-logged", _abandoned_too, {"events-order"}),
    ("witness-before-completed", _witness_before_completed, set()),
    ("proof-byte", _proof_byte, {"events-inclusion"}),
    ("entry-changed", _entry_changed, {"events-inclusion"}),
    ("other-draw-event", _other_draw, {"events"}),
    ("events-not-json", _events_not_json, {"events"}),
    ("events-unsorted", _events_unsorted, {"events"}),
    ("no-checkpoint", _no_checkpoint, {"events-inclusion"}),
    ("bindings-line", _bindings_line, {"bindings"}),
    ("bindings-reordered", _bindings_reordered_and_announced, {"bindings"}),
    ("short-notice", _short_notice, {"notice"}),
    ("no-events", _no_events, set()),
    ("no-bindings", _no_bindings, set()),
]
