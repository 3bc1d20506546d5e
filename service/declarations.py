"""A year's declarations: upload, validate, import, exclude — and the population they give.

Validation is all-or-nothing: an upload is parsed in the background (with progress), its
problems are listed by row and column, and declarants are written only from a clean file, in
one transaction. Case numbers are assigned in random order, so a public case number says
nothing about where a person stood in the office's list.
"""

import hashlib
import secrets
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from lottery.population import serialize_population
from service import declaration_files
from service.declaration_files import ParsedFile, parse_declaration_file
from service.extensions import db
from service.jobs import run_job
from service.models import Declarant, DeclarationUpload, Draw, Office, User, utcnow

MAX_PROBLEMS_KEPT = 500
INSERT_CHUNK = 5000


class DeclarationError(ValueError):
    """The declarations cannot be changed as asked."""


def _office_of(session: Session, office_id: int) -> Office:
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


def start_upload(
    session: Session, *, office: Office, user: User, roc_year: int, filename: str, data: bytes
) -> DeclarationUpload:
    """Store an uploaded file and start validating it in the background."""
    if year_is_frozen(session, office, roc_year):
        raise DeclarationError(
            _l("Year %(year)s already has an announced draw; its declarations are frozen.", year=roc_year)
        )
    if not data:
        raise DeclarationError(_l("The file is empty."))
    upload = DeclarationUpload(
        office_id=office.id,
        roc_year=roc_year,
        filename=filename[:255] or "upload",
        content=data,
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=user.id,
        status="parsing",
        updated_at=utcnow(),
    )
    session.add(upload)
    session.flush()
    upload_id = upload.id
    run_job(f"parse-{upload_id}", lambda: _parse_job(upload_id), lambda: _mark_failed(upload_id))
    return upload


def _parse(upload: DeclarationUpload, strata: dict[str, str]) -> ParsedFile:
    session = db.session

    def progress(done: int, total: int | None) -> None:
        upload.progress_done, upload.progress_total = done, total
        upload.updated_at = utcnow()  # the heartbeat: see `mark_if_stalled`
        session.commit()

    return parse_declaration_file(upload.content, upload.filename, strata=strata, progress=progress)


def _parse_job(upload_id: int) -> None:
    upload = db.session.get(DeclarationUpload, upload_id)
    if upload is None or upload.status != "parsing":
        return
    office = _office_of(db.session, upload.office_id)
    parsed = _parse(upload, office_strata(office))
    problems = [
        {"row": p.row, "column": p.column, "zh": p.message_zh, "en": p.message_en}
        for p in parsed.problems[:MAX_PROBLEMS_KEPT]
    ]
    other_years = sorted({d.year for d in parsed.declarants} - {upload.roc_year})
    if other_years:
        problems.insert(
            0,
            {
                "row": None,
                "column": "year",
                "zh": f"檔案的申報年度是 {other_years[0]}，但上傳時選的是 {upload.roc_year} 年度。",
                "en": f"The file is for year {other_years[0]}, but year {upload.roc_year} was chosen for the upload.",
            },
        )
    upload.rows_read = parsed.rows_read
    upload.encoding = parsed.encoding
    upload.problem_count = len(parsed.problems) + (1 if other_years else 0)
    upload.problems = problems
    upload.summary = _summary(parsed)
    upload.declarant_count = len(parsed.declarants)
    if not problems:
        upload.status = "ready"
    else:
        upload.status = "invalid"
        upload.content = b""  # nothing of a refused file is kept


def _mark_failed(upload_id: int) -> None:
    upload = db.session.get(DeclarationUpload, upload_id)
    if upload is not None:
        upload.status = "failed"
        upload.content = b""


def _summary(parsed: ParsedFile) -> dict[str, Any]:
    declarants = parsed.declarants
    return {
        "by_stratum": dict(sorted(Counter(d.stratum for d in declarants).items())),
        "by_type": dict(sorted(Counter(d.type_label for d in declarants).items())),
        "by_agency": dict(Counter(d.agency for d in declarants).most_common()),
        "merges": [
            {"national_id": m.national_id_masked, "rows": list(m.rows), "kept_row": m.kept_row}
            for m in parsed.merges[:MAX_PROBLEMS_KEPT]
        ],
        "merge_count": len(parsed.merges),
    }


def import_upload(session: Session, upload: DeclarationUpload) -> None:
    """Replace the year's declarants with a clean upload's, in the background, all at once."""
    if upload.status != "ready":
        raise DeclarationError(_l("Only a file that passed validation can be imported."))
    office = _office_of(session, upload.office_id)
    if year_is_frozen(session, office, upload.roc_year):
        raise DeclarationError(
            _l("Year %(year)s already has an announced draw; its declarations are frozen.", year=upload.roc_year)
        )
    upload.status = "importing"
    upload.updated_at = utcnow()
    upload.progress_done, upload.progress_total = 0, upload.rows_read
    session.flush()
    upload_id = upload.id
    run_job(f"import-{upload_id}", lambda: _import_job(upload_id), lambda: _mark_failed(upload_id))


def _import_job(upload_id: int) -> None:
    session = db.session
    upload = session.get(DeclarationUpload, upload_id)
    if upload is None or upload.status != "importing":
        return
    office = _office_of(session, upload.office_id)
    parsed = _parse(upload, office_strata(office))
    if not parsed.ok or any(d.year != upload.roc_year for d in parsed.declarants):
        # the same bytes parse the same way; this guards against a parser changed in between
        upload.status = "invalid"
        return
    declarants = list(parsed.declarants)
    secrets.SystemRandom().shuffle(declarants)
    width = max(4, len(str(len(declarants))))
    session.execute(delete(Declarant).where(Declarant.office_id == office.id, Declarant.roc_year == upload.roc_year))
    rows = [
        {
            "office_id": office.id,
            "roc_year": upload.roc_year,
            "case_number": f"{upload.roc_year}-{number:0{width}d}",
            "name": d.name,
            "national_id": d.national_id,
            "agency": d.agency,
            "title": d.title,
            "declaration_type": d.declaration_type,
            "type_label": d.type_label,
            "stratum": d.stratum,
            "declared_on": d.declared_on,
            "filings": [
                {"row": f.row, "type": f.declaration_type, "label": f.type_label, "date": f.declared_on.isoformat()}
                for f in d.filings
            ],
            "upload_id": upload.id,
        }
        for number, d in enumerate(declarants, start=1)
    ]
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(Declarant), rows[start : start + INSERT_CHUNK])
    upload.status = "imported"
    upload.content = b""  # the declarants now hold what is needed; the raw file is not kept
    upload.progress_done = upload.rows_read


#: A background job silent for this long died with its process (a restart, a crash).
STALLED_AFTER = timedelta(minutes=5)


def mark_if_stalled(upload: DeclarationUpload, now: datetime | None = None) -> bool:
    """Mark a job whose heartbeat stopped as failed, so the operator can upload again.

    Nothing was half-written: an import writes all its declarants in one transaction.
    """
    if upload.status not in ("parsing", "importing"):
        return False
    last = upload.updated_at or upload.uploaded_at
    if (now or utcnow()) - last < STALLED_AFTER:
        return False
    upload.status = "failed"
    upload.content = b""
    return True


def discard_upload(upload: DeclarationUpload) -> None:
    """Drop a pending or refused upload and its bytes."""
    if upload.status in ("importing", "imported"):
        raise DeclarationError(_l("This file has already been imported."))
    upload.status = "discarded"
    upload.content = b""


def exclude_declarant(session: Session, declarant: Declarant, user: User, reason: str) -> None:
    """Leave a declarant out of the population, recording who and why (e.g. Rule Art. 11)."""
    office = _office_of(session, declarant.office_id)
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
    office = _office_of(session, declarant.office_id)
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
    query = select(Declarant.case_number, Declarant.stratum).where(
        Declarant.office_id == office.id, Declarant.roc_year == roc_year, Declarant.excluded_reason.is_(None)
    )
    return serialize_population(session.execute(query).tuples())
