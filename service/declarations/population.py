"""A year's declarants as a population: who is in it, who was left out and why, and when it freezes.

Input: the declarants an import wrote (`service.declarations.uploads`). Output: the counts and
the canonical `population.tsv` a draw announces (protocol §2). Once a draw of the year is
announced the population is frozen: no upload, import, exclusion or inclusion changes it.
"""

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lottery.population import serialize_population
from service import declaration_files
from service.models import Declarant, Draw, Office, User, utcnow
from service.sealing import personal_data


class DeclarationError(ValueError):
    """The declarations cannot be changed as asked."""


def office_of(session: Session, office_id: int) -> Office:
    """The office with this id; `LookupError` when there is none."""
    office = session.get(Office, office_id)
    if office is None:
        raise LookupError(f"office {office_id} does not exist")
    return office


def office_strata(office: Office) -> dict[str, str]:
    """The office's type → stratum mapping over the default one."""
    mapping = dict(declaration_files.DEFAULT_STRATA)
    mapping.update(office.strata_map or {})
    return mapping


def year_is_frozen(session: Session, office: Office, roc_year: int) -> bool:
    """True once a draw of that year has been announced: its population may not change."""
    frozen = select(Draw.id).where(
        Draw.office_id == office.id, Draw.roc_year == roc_year, Draw.status.in_(("announced", "completed"))
    )
    return session.scalar(frozen.limit(1)) is not None


def find_declarant(session: Session, office_id: int, roc_year: int, national_id: str) -> Declarant | None:
    """The declarant with this national ID in one office's year (found by its keyed hash)."""
    return session.scalar(
        select(Declarant).where(
            Declarant.office_id == office_id,
            Declarant.roc_year == roc_year,
            Declarant.national_id_hmac == personal_data().lookup(national_id),
        )
    )


def exclude_declarant(session: Session, declarant: Declarant, user: User, reason: str) -> None:
    """Leave a declarant out of the population, recording who and why (e.g. Rule Art. 11)."""
    office = office_of(session, declarant.office_id)
    if year_is_frozen(session, office, declarant.roc_year):
        raise DeclarationError(_l("The population of this year is frozen by an announced draw."))
    reason = reason.strip()
    if len(reason) < 4:
        raise DeclarationError(_l("Give the reason for the exclusion."))
    declarant.excluded_reason = reason
    declarant.excluded_by_id = user.id
    declarant.excluded_at = utcnow()


def include_declarant(session: Session, declarant: Declarant) -> None:
    """Undo an exclusion before the draw is announced."""
    office = office_of(session, declarant.office_id)
    if year_is_frozen(session, office, declarant.roc_year):
        raise DeclarationError(_l("The population of this year is frozen by an announced draw."))
    declarant.excluded_reason = None
    declarant.excluded_by_id = None
    declarant.excluded_at = None


def years(session: Session, office: Office) -> list[int]:
    """The years that have declarants, newest first."""
    query = select(Declarant.roc_year).where(Declarant.office_id == office.id).distinct()
    return sorted(session.scalars(query), reverse=True)


def population_counts(session: Session, office: Office, roc_year: int) -> dict[str, int]:
    """Declarants in the population (not excluded) per stratum."""
    query = (
        select(Declarant.stratum, func.count())
        .where(Declarant.office_id == office.id, Declarant.roc_year == roc_year, Declarant.excluded_reason.is_(None))
        .group_by(Declarant.stratum)
    )
    return {stratum: count for stratum, count in session.execute(query).tuples()}


def population_summary(session: Session, office: Office, roc_year: int) -> dict[str, Any]:
    """Counts for the population page: by stratum, by type, by agency, and the exclusions."""
    base = (Declarant.office_id == office.id, Declarant.roc_year == roc_year)
    included = (*base, Declarant.excluded_reason.is_(None))

    def grouped(column: Any, *where: Any) -> list[tuple[str, int]]:
        query = select(column, func.count()).where(*where).group_by(column).order_by(func.count().desc(), column)
        return [(str(key), count) for key, count in session.execute(query).tuples()]

    excluded = session.scalars(select(Declarant).where(*base, Declarant.excluded_reason.is_not(None))).all()
    return {
        "total": session.scalar(select(func.count()).select_from(Declarant).where(*base)) or 0,
        "population": session.scalar(select(func.count()).select_from(Declarant).where(*included)) or 0,
        "by_stratum": grouped(Declarant.stratum, *included),
        "by_type": grouped(Declarant.type_label, *included),
        "by_agency": grouped(Declarant.agency, *included),
        "excluded": excluded,
    }


def population_file(session: Session, office: Office, roc_year: int) -> bytes:
    """The canonical `population.tsv` of a year: every declarant not excluded, by case number."""
    query = (
        select(Declarant.case_number, Declarant.stratum)
        .where(Declarant.office_id == office.id, Declarant.roc_year == roc_year, Declarant.excluded_reason.is_(None))
        .order_by(Declarant.case_number)  # usually byte order already; serialize_population sorts by bytes anyway
    )
    # A million pairs are read as the driver's own tuples: two plain text columns need no
    # processing, and skipping SQLAlchemy's row objects makes reading and sorting them 3× faster.
    result = session.connection().execute(query)
    try:
        pairs = result.cursor.fetchall()
    finally:
        result.close()
    return serialize_population(pairs)
