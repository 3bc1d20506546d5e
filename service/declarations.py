"""A year's declarations: upload, validate, import, exclude — and the population they give.

Validation is all-or-nothing: an upload is checked in the background (with progress), its
problems are listed by row and column, and declarants are written only from a clean file, in
one transaction. Case numbers are assigned in random order, so a public case number says
nothing about where a person stood in the office's list.

A national agency's year may hold a million declarants, so each file is read once. The check
reads it line by line (`read_declaration_file`) and stores what it accepted: one line per
declarant, the columns the import writes, compressed (`UploadedFile.checked`). The import
numbers those lines and hands them to the database as they are: PostgreSQL's `COPY`, or on
SQLite batched `executemany` straight to the driver. No million ORM objects ever exist, and
what is imported is exactly what the operator previewed.
"""

import hashlib
import json
import secrets
import time
import zlib
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, object_session

from lottery.population import serialize_population
from service import declaration_files
from service.declaration_files import DeclarationList, read_declaration_file
from service.extensions import db
from service.jobs import run_job
from service.models import Declarant, DeclarationUpload, Draw, Office, UploadedFile, User, utcnow
from service.sealing import personal_data

MAX_PROBLEMS_KEPT = 500
#: Rows per `executemany` on SQLite, and per `COPY` write on PostgreSQL.
INSERT_CHUNK = 5000
#: SQLite's page cache while an import writes (its default is 2 MiB).
SQLITE_IMPORT_CACHE_KIB = 64 * 1024
#: The progress of a background job is written at most this often (each write is a commit).
PROGRESS_SECONDS = 2.0
#: The columns an import writes, in order.
_COLUMNS = (
    "office_id", "roc_year", "case_number", "name", "national_id_sealed", "national_id_hmac", "agency", "title",
    "declaration_type", "type_label", "stratum", "declared_on", "filings", "upload_id",
)  # fmt: skip
#: The columns of a checked line (`UploadedFile.checked`), tab-separated. The check refuses control
#: characters, so no value holds a tab or a line break. The import seals the national ID (the
#: second column) and adds its keyed hash (`service.sealing`); the stored lines are sealed whole.
CHECKED_COLUMNS = (
    "name", "national_id", "agency", "title", "declaration_type", "type_label", "stratum", "declared_on", "filings",
)  # fmt: skip
#: zlib level of the checked lines: the fastest (B5's million lines: ~180 MB of text, ~22 MB packed).
_CHECKED_LEVEL = 1


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
        driver = connection.connection.driver_connection
        with driver.cursor(binary=True) as cursor:
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
    session = db.session
    upload = session.get(DeclarationUpload, upload_id)
    if upload is None or upload.status != "parsing":
        return
    office = _office_of(session, upload.office_id)
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
    checked, upload.summary = _checked_lines(parsed)
    del parsed
    session.execute(
        update(UploadedFile)
        .where(UploadedFile.upload_id == upload_id)
        .values(original=None, checked=seal_file(upload_id, "checked", checked))
    )
    upload.status = "ready"


def _mark_failed(upload_id: int) -> None:
    upload = db.session.get(DeclarationUpload, upload_id)
    if upload is not None:
        upload.status = "failed"
        _forget_file(db.session, upload_id)


#: One filing of `Declarant.filings` as `json.dumps` writes it, by type code: `% (row, ISO date)`.
_FILING_JSON = {
    code: json.dumps({"row": 0, "type": code, "label": label, "date": ""})
    .replace('"row": 0', '"row": %d')
    .replace('"date": ""', '"date": "%s"')
    for code, label in declaration_files.TYPE_LABELS.items()
}


def _checked_lines(parsed: DeclarationList) -> tuple[bytes, dict[str, Any]]:
    """What the check accepted, for the import: one line per declarant (in order of first row),
    `CHECKED_COLUMNS` tab-separated, zlib-compressed; and the preview's counts, from the same pass.
    """
    labels = declaration_files.TYPE_LABELS
    strata = parsed.strata
    counts: Counter[tuple[str, str]] = Counter()  # (agency, type): a few hundred at most
    packer = zlib.compressobj(_CHECKED_LEVEL)
    packed: list[bytes] = []
    lines: list[str] = []
    for national_id, kept, rows in parsed.kept_rows():
        kind, day = kept.declaration_type, kept.declared_on.isoformat()
        if rows is None:
            history = _FILING_JSON[kind] % (kept.row, day)
        else:
            history = ", ".join(_FILING_JSON[r.declaration_type] % (r.row, r.declared_on.isoformat()) for r in rows)
        lines.append(
            f"{kept.name}\t{national_id}\t{kept.agency}\t{kept.title}\t{kind}\t{labels[kind]}\t{strata[kind]}\t{day}\t[{history}]\n"
        )
        counts[kept.agency, kind] += 1
        if len(lines) == INSERT_CHUNK:
            packed.append(packer.compress("".join(lines).encode()))
            lines.clear()
    packed.append(packer.compress("".join(lines).encode()))
    packed.append(packer.flush())
    by_stratum: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    by_agency: Counter[str] = Counter()
    for (agency, kind), count in counts.items():
        by_stratum[strata[kind]] += count
        by_type[labels[kind]] += count
        by_agency[agency] += count
    summary = {
        "by_stratum": dict(sorted(by_stratum.items())),
        "by_type": dict(sorted(by_type.items())),
        "by_agency": dict(by_agency.most_common()),
        "merges": [
            {"national_id": m.national_id_masked, "rows": list(m.rows), "kept_row": m.kept_row}
            for m in parsed.merges[:MAX_PROBLEMS_KEPT]
        ],
        "merge_count": len(parsed.merges),
    }
    return b"".join(packed), summary


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
    # The rows are written in one transaction, which no progress can be committed from: the
    # page shows the import under way (no count) until it is done.
    upload.progress_done, upload.progress_total = 0, None
    session.flush()
    upload_id = upload.id
    run_job(f"import-{upload_id}", lambda: _import_job(upload_id), lambda: _mark_failed(upload_id))


def _import_job(upload_id: int) -> None:
    session = db.session
    upload = session.get(DeclarationUpload, upload_id)
    if upload is None or upload.status != "importing":
        return
    office = _office_of(session, upload.office_id)
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


def random_order(count: int) -> list[int]:
    """0 … count-1 in an order drawn from the operating system's CSPRNG (`secrets`).

    Each position gets 64 random bits and the positions are sorted by them: one call for all the
    randomness, ~3× faster than `SystemRandom().shuffle` (one call per element) at a million,
    and as unpredictable. A tie (about one in 2^24 at a million) keeps file order between the
    two, which says nothing about anyone else.
    """
    keys = memoryview(secrets.token_bytes(8 * count)).cast("Q")
    return sorted(range(count), key=keys.__getitem__)


def write_declarants(session: Session, checked: bytes, *, office_id: int, roc_year: int, upload_id: int) -> None:
    """Insert checked lines (`CHECKED_COLUMNS`, tab-separated, one per line) as declarants of
    one office and year in this transaction, with case numbers 1, 2, 3… given in random order
    (`random_order`); written in case-number order, so the unique index on it grows at its end.

    PostgreSQL: one `COPY` in text form, fed the lines themselves. SQLite: `executemany` in
    batches, straight to the driver. Either way no ORM object is made.
    """
    connection = session.connection()
    columns = ", ".join(_COLUMNS)
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        checked = checked.replace(b"\\", b"\\\\")  # COPY's text form: a backslash escapes
    lines = checked.split(b"\n")
    del checked
    if lines and not lines[-1]:
        lines.pop()
    lines = _sealed_lines(lines, office_id=office_id, roc_year=roc_year)
    order = random_order(len(lines))
    width = max(4, len(str(len(lines))))
    chunks = ((start, order[start : start + INSERT_CHUNK]) for start in range(0, len(order), INSERT_CHUNK))
    if postgresql:
        # One COPY line per declarant: office, year, case number, the checked line, upload.
        line_format = f"{office_id}\t{roc_year}\t{roc_year}-%0{width}d\t%s\t{upload_id}\n".encode()
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY declarant ({columns}) FROM STDIN") as copy:
                for start, chunk in chunks:
                    copy.write(
                        b"".join([line_format % (number, lines[at]) for number, at in enumerate(chunk, start + 1)])
                    )
            # Fresh statistics after a bulk load (the PostgreSQL manual's advice): without them
            # the planner takes a year of a million rows for one and counts them ten times slower.
            cursor.execute("ANALYZE declarant")
        return
    statement = f"INSERT INTO declarant ({columns}) VALUES ({', '.join('?' * len(_COLUMNS))})"  # noqa: S608 (fixed names)
    case_format = f"{roc_year}-%0{width}d"
    # A bigger page cache while the indexes grow (a million random national IDs), then the usual.
    cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = {-SQLITE_IMPORT_CACHE_KIB}")
    try:
        for start, chunk in chunks:
            rows = [
                (office_id, roc_year, case_format % number, *lines[at].decode().split("\t"), upload_id)
                for number, at in enumerate(chunk, start + 1)
            ]
            connection.exec_driver_sql(statement, rows)
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size or -2000)}")


def _sealed_lines(lines: list[bytes], *, office_id: int, roc_year: int) -> list[bytes]:
    """Checked lines with the national ID (second column) replaced by its sealed value and its
    keyed hash: what `write_declarants` stores (base64 and hex: nothing COPY must escape)."""
    sealer = personal_data()
    sealed_lines: list[bytes] = []
    for start in range(0, len(lines), INSERT_CHUNK):
        chunk = [line.split(b"\t", 2) for line in lines[start : start + INSERT_CHUNK]]
        ids = [parts[1].decode("ascii") for parts in chunk]
        sealed = sealer.seal_many(ids, office_id=office_id, roc_year=roc_year)
        lookup = sealer.lookup
        sealed_lines.extend(
            b"\t".join((parts[0], seal.encode("ascii"), lookup(ident).encode("ascii"), parts[2]))
            for parts, seal, ident in zip(chunk, sealed, ids, strict=True)
        )
    return sealed_lines


def find_declarant(session: Session, office_id: int, roc_year: int, national_id: str) -> Declarant | None:
    """The declarant with this national ID in one office's year (found by its keyed hash)."""
    return session.scalar(
        select(Declarant).where(
            Declarant.office_id == office_id,
            Declarant.roc_year == roc_year,
            Declarant.national_id_hmac == personal_data().lookup(national_id),
        )
    )


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
