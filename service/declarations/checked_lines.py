"""The checked lines: what the check of an upload accepted, stored for its import.

One line per declarant (`CHECKED_COLUMNS`, tab-separated; the check refuses control characters,
so no value holds a tab or a line break), zlib-compressed and sealed whole
(`UploadedFile.checked`). `checked_lines` writes them from a parsed file; `write_declarants`
numbers them in random order and hands them to the database as they are: PostgreSQL's `COPY`,
or on SQLite batched `executemany` straight to the driver. No million ORM objects ever exist.
"""

import json
import secrets
import zlib
from collections import Counter
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from service import declaration_files
from service.declaration_files import DeclarationList
from service.sealing import personal_data

if TYPE_CHECKING:
    import psycopg

#: Problems (and merged rows) kept for the preview; the counts cover all of them.
MAX_PROBLEMS_KEPT = 500
#: Rows per `executemany` on SQLite, and per `COPY` write on PostgreSQL.
INSERT_CHUNK = 5000
#: SQLite's page cache while an import writes (its default is 2 MiB).
SQLITE_IMPORT_CACHE_KIB = 64 * 1024
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


#: One filing of `Declarant.filings` as `json.dumps` writes it, by type code: `% (row, ISO date)`.
_FILING_JSON = {
    code: json.dumps({"row": 0, "type": code, "label": label, "date": ""})
    .replace('"row": 0', '"row": %d')
    .replace('"date": ""', '"date": "%s"')
    for code, label in declaration_files.TYPE_LABELS.items()
}


def checked_lines(parsed: DeclarationList) -> tuple[bytes, dict[str, Any]]:
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
        with driver_connection(connection).cursor() as cursor:
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


def driver_connection(connection: Connection) -> "psycopg.Connection[Any]":
    """The psycopg connection under a PostgreSQL `Connection` (for `COPY` and binary reads)."""
    driver = connection.connection.driver_connection
    if driver is None:  # only a connection the pool has invalidated has none
        raise RuntimeError("the database connection was invalidated")
    return cast("psycopg.Connection[Any]", driver)
