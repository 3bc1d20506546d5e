"""Notices for the drawn (docs/architecture.md "Flow of one draw", 5): one printable page per selected declarant.

Each notice names the office, the case number and the declarant, says that the declaration was
drawn for substantive review (公職人員財產申報法 實質審查), lists the documents to provide and the
due date (`Settings.notice_due_days` after the draw's completion, a Taiwan date), and carries the
draw's verification QR code and the declarant's binding salt with the one-line check of protocol §2a.
The national ID is never printed in full: the check shows it masked and the declarant types
their own.

The salts are secret, so the page is for the office's reviewers and admins only (the view in
`service.reviewer.notices_views`).
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from lottery.bindings import binding
from lottery.errors import ProtocolError
from service import sealing
from service.bindings import unseal_salts
from service.config import Settings
from service.declaration_files import mask_national_id
from service.i18n import is_english
from service.models import Declarant, Draw

TAIPEI = ZoneInfo("Asia/Taipei")
ROC_OFFSET = 1911

#: The one-line check of protocol §2a, with the case number, salt and (masked) national ID filled in.
CHECK_COMMAND = "printf 'sunshine-draw/1 binding\\n%s\\n%s\\n%s\\n' {case} {salt} {identity} | sha256sum"

#: What a drawn declarant provides for substantive review (Act Art. 11; Rule Arts. 7–9): proof of
#: what was declared as of the declaration date, for the declarant, spouse and minor children.
DOCUMENTS = (
    _l("Bank statements or passbook copies showing deposit balances on the declaration date"),
    _l("Land and building registration transcripts, or copies of ownership certificates"),
    _l("Proof of securities held (shares, funds, bonds) on the declaration date"),
    _l("Insurance policies where you, your spouse or a minor child is the policyholder"),
    _l("Proof of claims, debts and business investments of NT$1,000,000 or more"),
    _l("Proof of other declared property (for example jewellery, antiques, calligraphy and paintings)"),
)


class NoticesUnavailable(RuntimeError):
    """The draw has no notices: it is not completed, or it was announced without bindings."""


def national_id_of(declarant: Declarant) -> str:
    """The declarant's national ID in canonical form (`A123456789`), opened from its sealed column."""
    return sealing.national_id_of(declarant)


def roc_date(day: date) -> str:
    """A date as Taiwan's offices write it: 民國115年1月5日 (in English, the Gregorian long form)."""
    if is_english():
        return str(format_date(day, "long"))
    return f"民國{day.year - ROC_OFFSET}年{day.month}月{day.day}日"


def taipei_date(moment: datetime) -> date:
    """The Taiwan date of a stored UTC time."""
    return moment.astimezone(TAIPEI).date()


@dataclass(frozen=True)
class Notice:
    """One drawn declarant's notice."""

    case_number: str
    name: str
    agency: str
    title: str
    masked_id: str
    #: The stages that selected this case, in the draw's order (`review`, then `comparison`).
    stages: tuple[str, ...]
    salt: str | None
    binding: str | None
    #: False when the declarant's current national ID no longer reproduces the committed binding
    #: (a hand edit since the announcement): the notice must not go out until `flask audit verify`
    #: has been run and the record fixed.
    binding_holds: bool

    @property
    def check_command(self) -> str:
        """The declarant's check with their ID masked (they type their own in its place)."""
        return CHECK_COMMAND.format(case=self.case_number, salt=self.salt or "", identity=self.masked_id)


@dataclass(frozen=True)
class DrawNotices:
    """Every notice of one completed draw, with what they share."""

    draw: Draw
    office: str
    drawn_on: date
    due_on: date
    notices: list[Notice]


def due_date(draw: Draw, settings: Settings) -> date:
    """The date documents are due: the configured number of days after the draw's completion (Taiwan date)."""
    completed = draw.completed_at or draw.drawn_at
    if completed is None:
        raise NoticesUnavailable("the draw is not completed")
    return taipei_date(completed) + timedelta(days=settings.notice_due_days)


def selected_stages(draw: Draw) -> dict[str, tuple[str, ...]]:
    """Each selected case number with the stages that selected it, in ticket order of the first stage."""
    result = json.loads(draw.result or b"{}")
    found: dict[str, tuple[str, ...]] = {}
    for stage in result.get("stages", []):
        for entry in stage.get("selected", []):
            found[entry["id"]] = (*found.get(entry["id"], ()), stage["name"])
    return found


def draw_notices(session: Session, settings: Settings, draw: Draw) -> DrawNotices:
    """The notices of a completed draw, one per selected case number in ticket order.

    Raises `NoticesUnavailable` for a draw that is not completed and `service.bindings.SaltsLost`
    when its salts cannot be opened. A draw announced before bindings existed gets notices
    without the salt and its check.
    """
    if draw.status != "completed" or draw.result is None:
        raise NoticesUnavailable("the draw is not completed")
    stages = selected_stages(draw)
    salts, bound = _salts_and_bindings(draw, settings)
    people = {
        person.case_number: person
        for person in session.scalars(
            select(Declarant).where(
                Declarant.office_id == draw.office_id,
                Declarant.roc_year == draw.roc_year,
                Declarant.case_number.in_(list(stages)),
            )
        )
    }
    notices = []
    for case, chosen in stages.items():
        person = people.get(case)
        identity = national_id_of(person) if person is not None else ""
        salt, committed = salts.get(case), bound.get(case)
        notices.append(
            Notice(
                case_number=case,
                name=person.name if person else "",
                agency=person.agency if person else "",
                title=person.title if person else "",
                masked_id=mask_national_id(identity),
                stages=chosen,
                salt=salt,
                binding=committed,
                binding_holds=salt is None or _reproduces(case, salt, identity, committed),
            )
        )
    drawn = draw.drawn_at or draw.completed_at
    if drawn is None:
        raise NoticesUnavailable("the draw is not completed")
    return DrawNotices(
        draw=draw,
        office=draw.office.name,
        drawn_on=taipei_date(drawn),
        due_on=due_date(draw, settings),
        notices=notices,
    )


def _salts_and_bindings(draw: Draw, settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """The draw's salts (unsealed) and committed bindings by case number; empty for a draw
    announced before bindings existed."""
    salts: dict[str, str] = {}
    bound: dict[str, str] = {}
    if draw.sealed_salts is not None and draw.bindings_digest is not None and draw.bindings_tsv is not None:
        salts = dict(
            unseal_salts(
                bytes(draw.sealed_salts),
                draw_id=draw.draw_id,
                bindings_digest=draw.bindings_digest,
                deployment_secret=settings.secret_key,
            )
        )
        for line in bytes(draw.bindings_tsv).decode("ascii", "replace").splitlines():
            case, _, value = line.partition("\t")
            bound[case] = value
    return salts, bound


def _reproduces(case: str, salt: str, identity: str, committed: str | None) -> bool:
    try:
        return committed is not None and binding(case, salt, identity) == committed
    except ProtocolError:
        return False
