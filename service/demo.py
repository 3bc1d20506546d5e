"""The demo: a county ethics office whose year 114 has 244 declarations (178 regular, 66 not), shaped
like the example in docs/architecture.md. Names, agencies and IDs are invented (IDs pass the checksum but were
generated at random); nothing here describes a real person.
"""

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lottery.drand import Beacon, round_time
from service.accounts import create_user, get_or_create_office
from service.config import Settings
from service.declarations import import_upload, start_upload
from service.draw_lifecycle import advance_reveal, announce, complete, enter_dice, record_beacon, reveal_secret
from service.draw_rules import Rule
from service.draws import DrawSetup, save_draft
from service.keystore import active_key, generate_key
from service.models import Declarant, Draw, Office, ReviewCase, User, utcnow
from service.reviews import assign, open_cases_for_draw, taipei_today, transition
from service.witnesses import confirm

DEMO_YEAR = 114
DEMO_OFFICE = "kinmen"
#: Demo accounts only: `flask demo load` refuses to run in production.
SECOND_OFFICE = "penghu"
SECOND_OFFICE_USERS = (("penghu", "澎湖政風人員（示範）", "operator", "demo-penghu-pass-114"),)
DEMO_USERS = (
    ("admin", "政風處長（示範）", "admin", "demo-admin-pass-114"),
    ("operator", "政風人員（示範）", "operator", "demo-operator-pass-114"),
    ("reviewer", "審核人員（示範）", "reviewer", "demo-reviewer-pass-114"),
)
#: The demo draws' witnesses (`DEMO_WITNESSES`), one account each: each line names its display name.
#: `witness` (李大同) confirms the completed demo draw; the others can try it on a new draw.
DEMO_WITNESS_USERS = (
    ("witness", "李大同", "witness", "demo-witness-pass-114"),
    ("witness2", "王小華", "witness", "demo-witness2-pass-114"),
    ("witness3", "陳美惠", "witness", "demo-witness3-pass-114"),
)
_SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊呂江何蕭羅高潘簡朱鍾彭游詹胡施沈余盧梁趙顏柯翁魏孫戴"
_GIVEN = "志明文雅婷怡君家豪建宏俊傑淑芬美玲佳蓉宗翰冠廷承恩子晴柏翰欣怡嘉玲雅惠秀英國華金水永福春嬌麗珠瑞祥宏達"
_AGENCIES = (
    ("金門縣政府", ("縣長", "副縣長", "秘書長", "參議")),
    ("金門縣政府財政處", ("處長", "副處長", "科長", "專員")),
    ("金門縣政府建設處", ("處長", "副處長", "科長", "技正")),
    ("金門縣政府工務處", ("處長", "科長", "技正", "工程員")),
    ("金門縣政府教育處", ("處長", "副處長", "科長", "督學")),
    ("金門縣政府社會處", ("處長", "科長", "專員")),
    ("金門縣政府民政處", ("處長", "科長", "專員")),
    ("金門縣地政局", ("局長", "課長", "秘書")),
    ("金門縣稅務局", ("局長", "課長", "稽核")),
    ("金門縣警察局", ("局長", "副局長", "分局長", "隊長")),
    ("金門縣消防局", ("局長", "大隊長", "科長")),
    ("金城鎮公所", ("鎮長", "秘書", "課長")),
    ("金湖鎮公所", ("鎮長", "秘書", "課長")),
    ("金沙鎮公所", ("鎮長", "秘書", "課長")),
    ("金寧鄉公所", ("鄉長", "秘書", "課長")),
    ("烈嶼鄉公所", ("鄉長", "秘書", "課長")),
    ("金門縣議會", ("議長", "副議長", "議員", "秘書長")),
)
_NON_REGULAR = ("就(到)職", "卸(離)職", "代理", "兼任", "代理(兼任)期間屆滿")
_LETTER_CODES = {"W": 32}


def national_id(rng: random.Random) -> str:
    """A random ID of Kinmen's letter (W) with a correct check digit."""
    digits = [rng.choice((1, 2))] + [rng.randrange(10) for _ in range(7)]
    code = _LETTER_CODES["W"]
    weights = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    total = sum(w * d for w, d in zip(weights, [code // 10, code % 10, *digits], strict=True))
    check = (10 - total % 10) % 10
    return "W" + "".join(map(str, digits)) + str(check)


def demo_csv(seed: int = 114, year: int = DEMO_YEAR, regular: int = 178, non_regular: int = 66) -> bytes:
    """A demo year's declaration list as the national system exports it (UTF-8 CSV, ROC dates)."""
    rng = random.Random(seed)  # noqa: S311  (invented demo data, not security)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["姓名", "身分證字號", "服務機關", "職稱", "申報類別", "申報日期", "年度"])
    seen: set[str] = set()
    kinds = ["定期"] * regular + [rng.choice(_NON_REGULAR) for _ in range(non_regular)]
    gregorian = year + 1911
    for kind in kinds:
        ident = national_id(rng)
        while ident in seen:
            ident = national_id(rng)
        seen.add(ident)
        agency, titles = rng.choice(_AGENCIES)
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN)
        if kind == "定期":
            day = date(gregorian, 11, 1) + timedelta(days=rng.randrange(60))
        else:
            day = date(gregorian, 1, 2) + timedelta(days=rng.randrange(330))
        roc_date = f"{day.year - 1911}/{day.month:02d}/{day.day:02d}"
        writer.writerow([name, ident, agency, rng.choice(titles), kind, roc_date, year])
    return out.getvalue().encode("utf-8")


#: The completed demo draw reuses real quicknet round 657413 (protocol §5, out at 11:00:03Z), so its
#: schedule is that day's: live from 10:40, inputs closing at 10:59 (protocol §4 asks the round to come
#: at least 30 s later), announced three days before. The dice are the example digits of protocol §8.
DEMO_ROUND = 657413
DEMO_SCHEDULED = datetime(2023, 9, 15, 10, 40, tzinfo=UTC)
DEMO_WINDOW_MINUTES = 19
DEMO_ANNOUNCED = datetime(2023, 9, 12, 1, 0, tzinfo=UTC)
#: When the demo draw's dice and secret were entered (a minute and a minute and a half in).
DEMO_DICE_AT = DEMO_SCHEDULED + timedelta(seconds=60)
DEMO_SECRET_AT = DEMO_SCHEDULED + timedelta(seconds=90)
#: The completed demo draw's public identifier.
DEMO_DRAW_ID = f"{DEMO_OFFICE}-{DEMO_YEAR}-annual"
DEMO_DICE = "50104646865477507016"
DEMO_WITNESSES = ("監察員 李大同", "主計室 王小華", "人事室 陳美惠")
#: When the recorded round was seen: two seconds after quicknet published it.
DEMO_BEACON_SEEN = datetime.fromtimestamp(round_time(DEMO_ROUND) + 2, UTC)
DEMO_BEACON = Beacon(
    DEMO_ROUND,
    "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587",
    "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b",
)


def enter_demo_inputs(
    session: Session,
    settings: Settings,
    draw_pk: int,
    *,
    dice_at: datetime,
    secret_at: datetime,
    beacon_at: datetime | None = DEMO_BEACON_SEEN,
) -> None:
    """Enter an announced demo-round draw's inputs, each at its moment: the dice of protocol §8,
    the sealed secret, and the recorded quicknet round (none when `beacon_at` is None). The demo
    loader and every test draw take this path."""
    enter_dice(session, settings, draw_pk, DEMO_DICE, now=dice_at)
    reveal_secret(session, settings, draw_pk, now=secret_at)
    if beacon_at is not None:
        record_beacon(session, settings, draw_pk, DEMO_BEACON, now=beacon_at)


def _import_year(session: Session, office: Office, user: User, year: int, data: bytes) -> None:
    exists = session.scalar(
        select(Declarant.id).where(Declarant.office_id == office.id, Declarant.roc_year == year).limit(1)
    )
    if exists is not None:
        return
    upload = start_upload(
        session, office=office, user=user, roc_year=year, filename=f"{year}年度申報名冊.csv", data=data
    )
    session.refresh(upload)
    if upload.status != "ready":
        raise RuntimeError(f"the demo file did not validate: {upload.problems[:3]}")
    import_upload(session, upload)
    session.refresh(upload)
    if upload.status != "imported":
        raise RuntimeError("the demo import did not complete")


def demo_setup(
    draw_id: str,
    title: str,
    year: int,
    scheduled_at: datetime,
    window: int = 20,
    witnesses: tuple[str, ...] = DEMO_WITNESSES,
) -> DrawSetup:
    """The demo's draft (and every test draw's): the default rule, 20 dice, a drand round, the
    demo witnesses, live at `scheduled_at` with an input window of `window` minutes."""
    return DrawSetup(
        title=title,
        draw_id=draw_id,
        roc_year=year,
        rule=Rule(),
        dice_count=20,
        use_drand=True,
        scheduled_at=scheduled_at,
        min_notice_hours=24,
        witnesses=witnesses,
        input_window_minutes=window,
    )


def create_witness_users(
    session: Session, office: Office, accounts: tuple[tuple[str, str, str, str], ...] = DEMO_WITNESS_USERS
) -> list[User]:
    """The office's witness accounts for the demo witnesses, created when absent (idempotent)."""
    users = []
    for username, display_name, role, password in accounts:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = create_user(
                session, office=office, username=username, display_name=display_name, password=password, role=role
            )
        users.append(user)
    return users


def _completed_demo_draw(session: Session, settings: Settings, office: Office, operator: User) -> None:
    draw_id = DEMO_DRAW_ID
    if session.scalar(select(Draw).where(Draw.draw_id == draw_id)) is not None:
        return
    scheduled = DEMO_SCHEDULED
    title = f"{DEMO_YEAR}年度公職人員財產申報實質審查抽籤"
    setup = demo_setup(draw_id, title, DEMO_YEAR, scheduled, DEMO_WINDOW_MINUTES)
    draw = save_draft(session, office=office, user=operator, setup=setup, now=DEMO_ANNOUNCED)
    announce(session, settings, draw.id, operator, now=DEMO_ANNOUNCED, drand_round=DEMO_ROUND)
    enter_demo_inputs(session, settings, draw.id, dice_at=DEMO_DICE_AT, secret_at=DEMO_SECRET_AT)
    complete(session, settings, draw.id, now=DEMO_BEACON_SEEN)
    advance_reveal(session, draw.id, 10**9)
    # The first demo witness confirms from their own account, as on the day; the others have not yet.
    witness = session.scalar(select(User).where(User.username == DEMO_WITNESS_USERS[0][0]))
    if witness is not None:
        confirm(session, settings, draw.id, witness, now=DEMO_BEACON_SEEN + timedelta(minutes=5))


#: How far the demo year's review cases get: (steps after `drawn`, days until the last step's due date).
#: Every review-stage case gets one plan in case-number order; the comparison-stage case gets its own.
_NO_DISCREPANCY = ("querying", "under_review", "no_discrepancy")
_STATEMENT = ("querying", "under_review", "discrepancy", "statement_invited")
DEMO_REVIEW_PLANS: tuple[tuple[tuple[str, ...], int], ...] = (
    ((*_NO_DISCREPANCY, "closed"), 0),
    ((*_NO_DISCREPANCY, "closed"), 0),
    ((*_NO_DISCREPANCY, "closed"), 0),
    ((*_NO_DISCREPANCY, "closed"), 0),
    ((*_STATEMENT, "referred", "fined"), 30),
    ((*_STATEMENT, "correction_notice"), 20),
    (_NO_DISCREPANCY, 10),
    (("querying", "under_review"), 8),
    (("querying", "under_review"), 18),
    (("querying", "under_review"), 25),
    (("querying", "under_review"), 30),
    (("querying", "under_review"), 40),
    (("querying", "under_review"), 45),
    (("querying",), 3),
    (("querying",), 5),
    (("querying",), 20),
    (("querying",), 22),
    (("querying",), 30),
    (("querying",), 30),
)
DEMO_COMPARISON_PLAN = (("querying", "under_review", "explanation_requested"), 30)
#: The fine of the demo's fined case: an intentionally false declaration (Act Art. 12 para. 3).
DEMO_FINE = (120_000, "false-declaration")
_DEMO_NOTES = {
    "querying": "已透過財產申報查核平臺調閱金融、地政、稅務資料。",
    "under_review": "資料已到齊，開始比對申報內容。",
    "no_discrepancy": "申報內容與調閱資料相符。",
    "discrepancy": "漏報配偶存款二筆。",
    "statement_invited": "函請申報人於十四日內陳述意見。",
    "correction_notice": "申報人說明係疏漏，非故意，通知補正。",
    "referred": "疑似故意申報不實，移請法務部處理。",
    "fined": "法務部裁處罰鍰。",
    "explanation_requested": "前後年度比對財產增加逾全年薪資所得一倍，通知申報人說明。",
    "closed": "結案。",
}


def _demo_reviews(session: Session, settings: Settings, office: Office, users: dict[str, User], now: datetime) -> None:
    """Open the completed demo draw's cases, assign them to the demo reviewer and walk them into
    several states, so the workspace and the annual report have something in them. Once only."""
    draw = session.scalar(select(Draw).where(Draw.draw_id == DEMO_DRAW_ID))
    if draw is None or draw.status != "completed":
        return
    # The cases opened themselves when the draw completed (a database from before that: the admin opens them).
    cases = list(
        session.scalars(select(ReviewCase).where(ReviewCase.draw_pk == draw.id).order_by(ReviewCase.case_number))
    )
    if any(case.state != "drawn" for case in cases):
        return
    start = now - timedelta(days=21)
    if not cases:
        cases = open_cases_for_draw(
            session, settings, draw, users["admin"], due_on=taipei_today(start) + timedelta(days=25), now=start
        )
    reviewer = users["reviewer"]
    unassigned: dict[int, User | None] = {case.id: reviewer for case in cases if case.assignee_id != reviewer.id}
    assign(session, settings, unassigned, users["admin"], now=start)
    review = [case for case in cases if case.stage == "review"]
    comparison = [case for case in cases if case.stage == "comparison"]
    plans = [*zip(review, DEMO_REVIEW_PLANS, strict=False), *zip(comparison, [DEMO_COMPARISON_PLAN], strict=False)]
    for number, (case, (steps, due_days)) in enumerate(plans):
        for step, state in enumerate(steps, start=1):
            moment = start + timedelta(days=step * 3, minutes=number)
            last = step == len(steps)
            due = taipei_today(moment) + timedelta(days=due_days if last else 14)
            amount, ground = DEMO_FINE if state == "fined" else (None, None)
            transition(
                session, settings, case.id, users["reviewer"], state, note=_DEMO_NOTES[state],
                due_on=None if state == "closed" else due, fine_amount=amount, fine_ground=ground, now=moment,
            )  # fmt: skip


def load_demo(session: Session, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Create the demo office, users, two imported years, a completed draw of year 114 with its
    review cases in several states, and an announced upcoming draw of year 115; idempotent."""
    now = now or utcnow()
    office = get_or_create_office(session, DEMO_OFFICE, "金門縣政府政風處", "Kinmen County Government Ethics Office")
    users: dict[str, User] = {}
    for username, display_name, role, password in DEMO_USERS:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = create_user(
                session, office=office, username=username, display_name=display_name, password=password, role=role
            )
        users[role] = user
    # A second office, empty: its operator can try the import with any file (year 114 is still open
    # there), which shows too that each office sees only its own data.
    second = get_or_create_office(session, SECOND_OFFICE, "澎湖縣政府政風處", "Penghu County Government Ethics Office")
    for username, display_name, role, password in SECOND_OFFICE_USERS:
        if session.scalar(select(User).where(User.username == username)) is None:
            create_user(
                session, office=second, username=username, display_name=display_name, password=password, role=role
            )
    create_witness_users(session, office)
    if active_key(session) is None:
        generate_key(session, settings)
    _import_year(session, office, users["operator"], DEMO_YEAR, demo_csv())
    _import_year(session, office, users["operator"], DEMO_YEAR + 1, demo_csv(115, DEMO_YEAR + 1, 181, 70))
    _completed_demo_draw(session, settings, office, users["operator"])
    _demo_reviews(session, settings, office, users, now)
    upcoming_id = f"{DEMO_OFFICE}-{DEMO_YEAR + 1}-annual"
    if session.scalar(select(Draw).where(Draw.draw_id == upcoming_id)) is None:
        scheduled = (now + timedelta(days=7)).replace(hour=2, minute=0, second=0)
        title = f"{DEMO_YEAR + 1}年度公職人員財產申報實質審查抽籤"
        draw = save_draft(
            session,
            office=office,
            user=users["operator"],
            setup=demo_setup(upcoming_id, title, DEMO_YEAR + 1, scheduled),
        )
        announce(session, settings, draw.id, users["operator"], now=now)
    return {"office": office, "users": users}


def demo_office(session: Session) -> Office | None:
    """The demo office, if loaded."""
    return session.scalar(select(Office).where(Office.slug == DEMO_OFFICE))
