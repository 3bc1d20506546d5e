"""The downloadable bundle of a completed draw (layout: docs/bundle.md).

Everything a citizen needs to check the draw offline: the frozen documents, their signatures,
the office key that signed them, the checkpoint signed right after the draw completed (with the
witnesses' cosignatures collected for it), the inclusion proofs of the draw's two log entries in
that checkpoint, and (`witnessed.json`) every witness-cosigned checkpoint since the announcement
with its consistency proof to the bundle's checkpoint.
"""

import base64
import io
import json
import zipfile
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Draw, LogEntry, SigningKey
from service.transparency import checkpoint_at, inclusion, latest_checkpoint
from service.witnessing import witnessed_json, witnessed_note

VERIFY_MD = """# 如何驗證這次抽籤 · How to verify this draw

抽籤：{title}（`{draw_id}`）

## 檔案 · Files
| file | what it is |
|---|---|
| `population.tsv` | 母體：每行一個案號與類別，依案號排序 · the population: one case number and stratum per line |
| `announcement.json` | 抽籤前公告：母體摘要、規則、秘密承諾、骰子數、drand 輪次 · the announcement, published before the draw |
| `announcement.json.sig` | 機關對公告的 Ed25519 簽章 · the office's signature over the announcement |
| `result.json` | 結果：公開的輸入、種子、每組門檻、中籤名單 · the result: inputs, seed, thresholds, selections |
| `result.json.sig` | 機關對結果的簽章 · the office's signature over the result |
| `office.vkey` | 機關的驗證金鑰（請與機關網站公布者比對）· the office key (compare it with the one the office publishes) |
| `checkpoint` | 抽籤完成後簽署的透明紀錄檢查點 · the transparency-log checkpoint signed after the draw |
| `inclusion.json` | 本次抽籤兩筆紀錄在檢查點中的證明 · proofs that the draw's log entries are in that checkpoint |
| `events.json` | 本次抽籤在紀錄中的每一事件（公告、骰子、秘密、drand、完成）及其證明 · every log event of the draw with its proof |
| `bindings.tsv` | 案號與申報人的承諾（加鹽雜湊，不揭露身分）· which case number is whose, committed but not disclosed |
| `witnessed.json` | 獨立見證方在抽籤進行時連署的檢查點（`python -m lottery verify --witness … --quorum K` 檢查輸入值是否在 drand 公布前已獲見證）· checkpoints independent witnesses cosigned as the draw ran (`verify --witness … --quorum K` checks the inputs were witnessed before the beacon) |

## 三個指令自己驗算 · Check it yourself in three commands
```sh
sha256sum population.tsv        # 等於 announcement.json 的 population.digest · equals population.digest
SEED=$(python3 -c 'import json; print(json.load(open("result.json"))["seed"])')
printf '%s %s %s' "$SEED" review 114-0001 | sha256sum   # 該案號在 review 階段的籤值 · that case's ticket
```
一個案號中籤，當且僅當它的籤值小於或等於所屬組別的 `threshold`。
A case is selected exactly when its ticket is at or below its group's `threshold` in `result.json`.

## 申報人核對自己的案號 · A declarant checks their own case number
機關在通知中給每位申報人一個鹽值（salt）。用它與自己的身分證字號，可以確認 `bindings.tsv` 中的那一行就是自己，
案號在抽籤後無法被調換。 · With the salt from the office's notice and their own national ID, a
declarant confirms that their line of `bindings.tsv` is theirs, so case numbers cannot be swapped
after the draw:
```sh
printf 'sunshine-draw/1 binding\\n%s\\n%s\\n%s\\n' 114-0001 "$SALT" A123456789 | sha256sum   # = 該案號在 bindings.tsv 的值
```

## 完整驗證 · Full verification
```sh
python -m lottery verify bundle.zip --key "{vkey}"
```
`python -m lottery` 是陽光抽籤專案中的 `lottery` 套件（只需 Python 3.11、`cryptography`、`rfc8785`，
可選 `py_ecc` 檢查 drand 簽章）。每一項檢查印一行，全部通過才以 0 結束。
`python -m lottery` is the `lottery` package of the Sunshine Draw project (Python 3.11 with
`cryptography` and `rfc8785`; `py_ecc` to check the drand signature). It prints one line per check
and exits 0 only when all pass.
"""


#: Log events that belong to a draw's own story; `review.recorded` events (one per review step)
#: also carry the draw id but are not part of the draw.
DRAW_EVENT_TYPES = ("draw.announced", "draw.input", "draw.completed", "draw.abandoned", "draw.witness_confirmed")


def draw_events(session: Session, draw_id: str, size: int) -> list[dict[str, Any]]:
    """The draw's log events among the first `size` entries, each with its inclusion proof in
    the tree of that size: `[{"index", "entry", "proof": [base64…]}]` (protocol §11 `events.json`)."""
    marker = '"draw_id":' + json.dumps(draw_id, ensure_ascii=False)
    rows = session.execute(
        select(LogEntry.index, LogEntry.entry)
        .where(LogEntry.index < size, LogEntry.entry.contains(marker, autoescape=True))
        .order_by(LogEntry.index)
    ).all()
    events = []
    for index, entry in rows:
        event = json.loads(entry)
        if event.get("draw_id") != draw_id or event.get("type") not in DRAW_EVENT_TYPES:
            continue
        proof = [base64.b64encode(node).decode("ascii") for node in inclusion(session, index, size)]
        events.append({"index": index, "entry": entry, "proof": proof})
    return events


def events_size(session: Session, draw: Draw) -> int | None:
    """The checkpoint size that a draw's `events.json` is proved against: the bundle's (signed
    when the draw completed) for a completed draw, else the latest; None before any checkpoint."""
    if draw.status == "completed" and draw.completed_log_index is not None:
        return draw.completed_log_index + 1
    latest = latest_checkpoint(session)
    return latest.size if latest is not None else None


def events_json(events: list[dict[str, Any]]) -> bytes:
    """`events.json` as served and bundled."""
    return json.dumps(events, ensure_ascii=False, indent=1).encode("utf-8")


class BundleUnavailable(LookupError):
    """The draw has no result yet, so there is nothing to verify."""


def bundle_files(session: Session, draw: Draw) -> dict[str, bytes]:
    """The bundle's files for a completed draw."""
    if draw.status != "completed" or draw.result is None or draw.completed_log_index is None:
        raise BundleUnavailable(draw.draw_id)
    key = session.scalar(select(SigningKey).where(SigningKey.key_id == draw.signing_key_id))
    size = draw.completed_log_index + 1
    checkpoint = checkpoint_at(session, size)
    files = {
        "population.tsv": draw.population_tsv or b"",
        "announcement.json": draw.announcement or b"",
        "announcement.json.sig": (draw.announcement_sig or "").encode("ascii"),
        "result.json": draw.result,
        "result.json.sig": (draw.result_sig or "").encode("ascii"),
    }
    vkey = key.vkey if key is not None else ""
    if key is not None:
        files["office.vkey"] = (key.vkey + "\n").encode("utf-8")
    if checkpoint is not None and draw.announced_log_index is not None:
        files["checkpoint"] = witnessed_note(session, checkpoint).encode("utf-8")
        proofs = []
        for index in (draw.announced_log_index, draw.completed_log_index):
            entry = session.scalar(select(LogEntry.entry).where(LogEntry.index == index))
            path = inclusion(session, index, size)
            proofs.append(
                {
                    "index": index,
                    "size": size,
                    "entry": entry,
                    "path": [base64.b64encode(node).decode("ascii") for node in path],
                }
            )
        files["inclusion.json"] = json.dumps(proofs, indent=1).encode("utf-8")
        files["events.json"] = events_json(draw_events(session, draw.draw_id, size))
        witnessed = witnessed_json(session, draw, size)
        if witnessed is not None:
            files["witnessed.json"] = witnessed
    bindings = draw.bindings_tsv
    if bindings is not None:
        files["bindings.tsv"] = bytes(bindings)
    files["VERIFY.md"] = VERIFY_MD.format(title=draw.title, draw_id=draw.draw_id, vkey=vkey).encode("utf-8")
    return files


def bundle_zip(session: Session, draw: Draw) -> bytes:
    """The bundle as a zip whose members sit in a folder named after the draw."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in bundle_files(session, draw).items():
            info = zipfile.ZipInfo(f"{draw.draw_id}/{name}", date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
