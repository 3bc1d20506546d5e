"""Uploads of a year's declarations: store, check in the background, import, discard, purge.

Validation is all-or-nothing: an upload is checked in the background (with progress), its
problems are listed by row and column, and declarants are written only from a clean file, in
one transaction (`service.declarations.checked_lines`). The bytes are sealed while kept and
deleted once the file is refused, imported or left past the retention time.
"""

import hashlib
import time
import zlib
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, object_session

from service.declaration_files import DeclarationList, read_declaration_file
from service.declarations.checked_lines import MAX_PROBLEMS_KEPT, checked_lines, driver_connection, write_declarants
from service.declarations.population import DeclarationError, office_of, office_strata, year_is_frozen
from service.extensions import session as current_session
from service.jobs import run_job
from service.models import Declarant, DeclarationUpload, Office, UploadedFile, User, utcnow
from service.sealing import personal_data

#: The progress of a background job is written at most this often (each write is a commit).
PROGRESS_SECONDS = 2.0


def start_upload(
    session: Session, *, office: Office, user: User, roc_year: int, filename: str, data: bytes
) -> DeclarationUpload:
    """Store an uploaded file and start checking it in the background."""
    if year_is_frozen(session, office, roc_year):
        raise DeclarationError(
            _l("Year %(year)s already has an announced draw; its declarations are frozen.", year=roc_year)
        )
    if not data:
        raise DeclarationError(_l("The file is empty."))
    purge_stale_uploads(session)
    upload = DeclarationUpload(
        office_id=office.id,
        roc_year=roc_year,
        filename=filename[:255] or "upload",
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=user.id,
        status="parsing",
        updated_at=utcnow(),
    )
    session.add(upload)
    session.flush()
    session.add(UploadedFile(upload_id=upload.id, original=seal_file(upload.id, "original", data)))
    session.flush()
    upload_id = upload.id
    run_job(f"parse-{upload_id}", lambda: _parse_job(upload_id), lambda: _mark_failed(upload_id))
    return upload


def seal_file(upload_id: int, column: str, data: bytes) -> bytes:
    """An upload's bytes as stored: sealed under the data key (they hold national IDs), bound to
    the upload and the column."""
    return personal_data().seal_blob(data, label=f"declaration_upload_file.{column}.{upload_id}")


def stored_file(session: Session, upload: DeclarationUpload, column: str) -> bytes | None:
    """An upload's `original` or `checked` bytes (opened), or None when they are not (or no longer) kept.

    PostgreSQL sends `bytea` as hex text unless asked for binary: for a 75 MB file that is a
    150 MB answer decoded into another copy, so the bytes are fetched in binary there. The
    bytes are read past the ORM, so they are never kept in its identity map.
    """
    if column not in ("original", "checked"):
        raise ValueError(f"no stored column {column!r}")
    connection = session.connection()
    statement = f"SELECT {column} FROM declaration_upload_file WHERE upload_id = "  # noqa: S608 (checked above)
    sealed: bytes | None
    if connection.dialect.name != "postgresql":
        found = connection.exec_driver_sql(statement + "?", (upload.id,)).scalar()
        sealed = bytes(found) if found is not None else None
    else:
        with driver_connection(connection).cursor(binary=True) as cursor:
            row = cursor.execute(statement + "%s", (upload.id,)).fetchone()
        sealed = bytes(row[0]) if row is not None and row[0] is not None else None
    if sealed is None:
        return None
    return personal_data().open_blob(sealed, label=f"declaration_upload_file.{column}.{upload.id}")


def _forget_file(session: Session, upload_id: int) -> None:
    """Delete what is kept of an upload's bytes (nothing of a refused or imported file stays)."""
    session.execute(delete(UploadedFile).where(UploadedFile.upload_id == upload_id))


def _parse(session: Session, upload: DeclarationUpload, strata: dict[str, str]) -> DeclarationList:
    last_written = time.monotonic()

    def progress(done: int, total: int | None) -> None:
        nonlocal last_written
        upload.progress_done, upload.progress_total = done, total
        # The heartbeat (see `mark_if_stalled`) and the progress bar need a commit now and
        # then, not one per thousand rows.
        if done == total or time.monotonic() - last_written >= PROGRESS_SECONDS:
            upload.updated_at = utcnow()
            session.commit()
            last_written = time.monotonic()

    return read_declaration_file(
        stored_file(session, upload, "original") or b"",
        upload.filename,
        strata=strata,
        progress=progress,
        max_bytes=current_app.config.get("MAX_CONTENT_LENGTH") or 50 * 1024 * 1024,  # SUNSHINE_MAX_UPLOAD_MB
        year=upload.roc_year,  # the year chosen on the form: a file needs no year column
    )


def _parse_job(upload_id: int) -> None:
    session = current_session()
    upload = session.get(DeclarationUpload, upload_id)
    if upload is None or upload.status != "parsing":
        return
    office = office_of(session, upload.office_id)
    parsed = _parse(session, upload, office_strata(office))
    problems = [
        {"row": p.row, "column": p.column, "zh": p.message_zh, "en": p.message_en}
        for p in parsed.problems[:MAX_PROBLEMS_KEPT]
    ]
    other_years = sorted(parsed.years - {upload.roc_year})
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
    upload.declarant_count = parsed.declarant_count
    if problems:
        upload.status = "invalid"
        upload.summary = {}
        _forget_file(session, upload_id)
        return
    checked, upload.summary = checked_lines(parsed)
    del parsed
    session.execute(
        update(UploadedFile)
        .where(UploadedFile.upload_id == upload_id)
        .values(original=None, checked=seal_file(upload_id, "checked", checked))
    )
    upload.status = "ready"


def _mark_failed(upload_id: int) -> None:
    session = current_session()
    upload = session.get(DeclarationUpload, upload_id)
    if upload is not None:
        upload.status = "failed"
        _forget_file(session, upload_id)


def import_upload(session: Session, upload: DeclarationUpload) -> None:
    """Replace the year's declarants with a clean upload's, in the background, all at once."""
    if upload.status != "ready":
        raise DeclarationError(_l("Only a file that passed validation can be imported."))
    office = office_of(session, upload.office_id)
    if year_is_frozen(session, office, upload.roc_year):
        raise DeclarationError(
            _l("Year %(year)s already has an announced draw; its declarations are frozen.", year=upload.roc_year)
        )
    upload.status = "importing"
    upload.updated_at = utcnow()
    # The rows are written in one transaction, which no progress can be committed from: the
    # page shows the import under way (no count) until it is done.
    upload.progress_done, upload.progress_total = 0, None
    session.flush()
    upload_id = upload.id
    run_job(f"import-{upload_id}", lambda: _import_job(upload_id), lambda: _mark_failed(upload_id))


def _import_job(upload_id: int) -> None:
    session = current_session()
    upload = session.get(DeclarationUpload, upload_id)
    if upload is None or upload.status != "importing":
        return
    office = office_of(session, upload.office_id)
    checked = stored_file(session, upload, "checked")
    if checked is None:
        raise DeclarationError("the checked declarants of this upload are missing")
    session.execute(delete(Declarant).where(Declarant.office_id == office.id, Declarant.roc_year == upload.roc_year))
    write_declarants(
        session, zlib.decompress(checked), office_id=office.id, roc_year=upload.roc_year, upload_id=upload.id
    )
    del checked
    _forget_file(session, upload_id)
    upload.status = "imported"
    upload.progress_done = upload.declarant_count


def purge_stale_uploads(session: Session, now: datetime | None = None) -> int:
    """Delete the bytes of uploads checked (or left) but not imported within the retention time
    (`SUNSHINE_UPLOAD_RETENTION_DAYS`, default 7) and mark them discarded; returns how many.

    Runs on every new upload and from `flask uploads purge` (a daily timer). An upload still
    being checked or imported is left alone unless its job has stalled.
    """
    from service.clock import now as clock_now
    from service.config import settings_of

    moment = now or clock_now()
    cutoff = moment - timedelta(days=settings_of(current_app).upload_retention_days)
    stale = session.scalars(
        select(DeclarationUpload)
        .join(UploadedFile, UploadedFile.upload_id == DeclarationUpload.id)
        .where(DeclarationUpload.uploaded_at < cutoff)
    ).all()
    purged = 0
    for upload in stale:
        if upload.status in ("parsing", "importing") and not mark_if_stalled(upload, moment):
            continue
        if upload.status not in ("failed", "imported"):
            upload.status = "discarded"
        _forget_file(session, upload.id)
        purged += 1
    session.flush()
    return purged


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
    session = object_session(upload)
    if session is not None:
        _forget_file(session, upload.id)
    return True


def discard_upload(upload: DeclarationUpload) -> None:
    """Drop a pending or refused upload and its bytes."""
    if upload.status in ("importing", "imported"):
        raise DeclarationError(_l("This file has already been imported."))
    upload.status = "discarded"
    session = object_session(upload)
    if session is not None:
        _forget_file(session, upload.id)
