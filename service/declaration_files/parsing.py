"""The whole file: rows read, people merged by national ID, and either every declarant or every
problem (`parse_declaration_file`, `read_declaration_file`)."""

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.declaration_files.filing_types import TEMPLATE_EXAMPLE, check_strata
from service.declaration_files.headers import Header
from service.declaration_files.model import (
    COLUMN_LABELS,
    DECLARATION_TYPES,
    DEFAULT_STRATA,
    HEADER_SEARCH_ROWS,
    MAX_COLUMNS,
    MAX_PROBLEMS,
    MAX_XLSX_UNCOMPRESSED_BYTES,
    PROGRESS_EVERY,
    TYPE_LABELS,
    Declarant,
    Filing,
    Merge,
    ParsedFile,
    Problem,
)
from service.declaration_files.national_ids import mask_national_id
from service.declaration_files.rows import Problems, Row, RowReader, find_header, is_empty, row_width
from service.declaration_files.sources import FileRefused, RowFlag, RowSource, open_source

# Which filing a merged declarant keeps: a regular filing first (it is the one the annual review
# is about), then any other filing, then corrections and supplements (they amend another
# filing); within a rank the earliest date, then the first row.
_KEPT_RANK = {"regular": 0, "correction": 2, "supplement": 2}


def _kept_filing_key(filing: Row) -> tuple[int, date, int]:
    return (_KEPT_RANK.get(filing.declaration_type, 1), filing.declared_on, filing.row)


def _name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _refused(problem: Problem) -> "DeclarationList":
    return DeclarationList([problem], [], 0, "unknown", frozenset(), {}, {}, {})


@dataclass(frozen=True)
class DeclarationList:
    """What `read_declaration_file` found: `ParsedFile` with the declarants made on demand.

    A national agency's year may list a million people: `declarants()` makes them one at a time,
    in order of first row, so a caller that stores them never holds them all. When `problems` is
    non-empty there are no declarants, no merges and no years; else `years` holds every year the
    declarants' rows name.
    """

    problems: list[Problem]
    merges: list[Merge]
    rows_read: int
    encoding: str
    years: frozenset[int]
    strata: Mapping[str, str] = field(repr=False)
    #: National ID → its first row, in row order; and, for an ID on several rows, all of them.
    first_rows: Mapping[str, "Row"] = field(repr=False)
    merged_rows: Mapping[str, list["Row"]] = field(repr=False)

    @property
    def ok(self) -> bool:
        """True when the file was accepted."""
        return not self.problems

    @property
    def declarant_count(self) -> int:
        """How many declarants (national IDs) the file holds."""
        return len(self.first_rows)

    def declarants(self) -> Iterator[Declarant]:
        """Every declarant, one per national ID, in order of first row."""
        for values in self.declarant_values():
            row, name, national_id, agency, title, kind, label, stratum, declared_on, year, filings = values
            filed = tuple(Filing(*filing) for filing in filings)
            yield Declarant(row, name, national_id, agency, title, kind, label, stratum, declared_on, year, filed)

    def kept_rows(self) -> Iterator[tuple[str, "Row", list["Row"] | None]]:
        """Each declarant as (national ID, the row whose values it keeps, all its rows when it
        was merged from several, else None), in order of first row."""
        merged = self.merged_rows
        for national_id, first in self.first_rows.items():
            rows = merged.get(national_id)
            yield national_id, first if rows is None else min(rows, key=_kept_filing_key), rows

    def declarant_values(self) -> Iterator[tuple[Any, ...]]:
        """`declarants()` as plain tuples in `Declarant`'s field order, each filing a tuple in
        `Filing`'s: what storing a million declarants needs, without a million objects."""
        labels = TYPE_LABELS
        strata = self.strata
        first_rows = self.first_rows
        for national_id, kept, rows in self.kept_rows():
            kind = kept.declaration_type
            yield (
                first_rows[national_id].row,
                kept.name,
                national_id,
                kept.agency,
                kept.title,
                kind,
                labels[kind],
                strata[kind],
                kept.declared_on,
                kept.year,
                tuple(
                    (f.row, f.declaration_type, labels[f.declaration_type], f.declared_on)
                    for f in rows or (first_rows[national_id],)
                ),
            )


def parse_declaration_file(
    data: bytes,
    filename: str,
    *,
    strata: Mapping[str, str] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    max_bytes: int = 50 * 1024 * 1024,
    max_columns: int = MAX_COLUMNS,
    max_uncompressed_bytes: int = MAX_XLSX_UNCOMPRESSED_BYTES,
    max_problems: int = MAX_PROBLEMS,
    year: int | None = None,
) -> ParsedFile:
    """Parse and validate one year's declaration list, all or nothing.

    Inputs: the file's bytes and its name (`.csv`, `.txt`, `.tsv` or `.xlsx` decides the
    format); `strata` maps type codes to stratum names (default `DEFAULT_STRATA`; checked by
    `check_strata`, which raises `ValueError`); `progress(done, total)` is called about every
    1000 rows and once at the end with the Excel row reached and the row count when known;
    files over `max_bytes`, XLSX unpacking to more than `max_uncompressed_bytes`, and rows of
    more than `max_columns` columns are refused; at most `max_problems` problems are listed.

    Output: a `ParsedFile`. When `ok`, `declarants` holds one entry per national ID in order of
    first row, and `merges` lists every ID found on several rows. A merged declarant keeps its
    regular filing if it has one, else its earliest filing other than a correction or
    supplement, else its earliest correction or supplement (ties: the first row). Rows with one
    ID but different names are refused (a typing error in an ID would otherwise drop a person
    from the draw), as is a row whose year differs from the file's.

    `year` is the ROC year chosen on the upload form: a file without a year column is read as of
    that year, and a file whose year column names another year is refused, saying so once.
    Without it the year column is required.

    `read_declaration_file` reads the same way and makes the declarants on demand.
    """
    found = read_declaration_file(
        data,
        filename,
        strata=strata,
        progress=progress,
        max_bytes=max_bytes,
        max_columns=max_columns,
        max_uncompressed_bytes=max_uncompressed_bytes,
        max_problems=max_problems,
        year=year,
    )
    return ParsedFile(list(found.declarants()), found.problems, found.merges, found.rows_read, found.encoding)


def read_declaration_file(
    data: bytes,
    filename: str,
    *,
    strata: Mapping[str, str] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    max_bytes: int = 50 * 1024 * 1024,
    max_columns: int = MAX_COLUMNS,
    max_uncompressed_bytes: int = MAX_XLSX_UNCOMPRESSED_BYTES,
    max_problems: int = MAX_PROBLEMS,
    year: int | None = None,
) -> DeclarationList:
    """`parse_declaration_file`, with the declarants made on demand (see `DeclarationList`).

    The CSV is read line by line from its bytes; each row is kept only as a tuple of its checked
    values, which share the texts and dates they have in common with other rows.
    """
    chosen_strata = check_strata(DEFAULT_STRATA if strata is None else strata)
    if not data:
        return _refused(Problem(None, None, "檔案是空的", "the file is empty"))
    if len(data) > max_bytes:
        return _refused(
            Problem(
                None,
                None,
                f"檔案大小 {len(data):,} 位元組，超過上限 {max_bytes:,}",
                f"the file is {len(data):,} bytes; at most {max_bytes:,} are accepted",
            )
        )
    try:
        source = open_source(data, filename, max_columns, max_uncompressed_bytes)
    except FileRefused as refusal:
        return _refused(refusal.problem)

    problems = Problems(max_problems)
    header, valid, rows_read = _read_rows(source, problems, progress, max_columns, year)
    if header is None:
        expected = "、".join(label for label, _ in COLUMN_LABELS.values())
        problems.add(
            None,
            None,
            f"找不到標題列：前 {HEADER_SEARCH_ROWS} 個非空白列都不含欄名（應有：{expected}）",
            f"no header row in the first {HEADER_SEARCH_ROWS} non-empty rows (expected columns: "
            f"{', '.join(label for _, label in COLUMN_LABELS.values())})",
        )
        return DeclarationList(problems.finish(), [], rows_read, source.encoding, frozenset(), {}, {}, {})
    if not rows_read and not problems:
        problems.add(None, None, "標題列之下沒有任何申報資料", "there are no declarations under the header row")

    first_rows, merged_rows = _check_rows(valid, header, chosen_strata, problems, year)
    if problems:
        return DeclarationList(problems.finish(), [], rows_read, source.encoding, frozenset(), {}, {}, {})
    years = frozenset(r.year for r in valid)
    del valid
    merges = [
        Merge(mask_national_id(national_id), tuple(f.row for f in rows), min(rows, key=_kept_filing_key).row)
        for national_id, rows in merged_rows.items()
    ]
    merges.sort(key=lambda merge: merge.rows[0])
    return DeclarationList([], merges, rows_read, source.encoding, years, chosen_strata, first_rows, merged_rows)


def _read_rows(
    source: RowSource,
    problems: Problems,
    progress: Callable[[int, int | None], None] | None,
    max_columns: int,
    year: int | None,
) -> tuple[Header | None, list[Row], int]:
    """Read the source's rows once: find the header, then check each row on its own.

    Returns the header (None when none was found), the rows that passed and how many rows under
    the header were read; the problems found go to `problems`.
    """
    header: Header | None = None
    reader: RowReader | None = None
    rows_before_header = 0
    valid: list[Row] = []
    rows_read = 0
    last_row = 0
    next_progress = PROGRESS_EVERY
    try:
        for row, cells, flag in source.rows:
            last_row = row
            if progress is not None and row >= next_progress:
                progress(row, source.total if source.total is not None and row <= source.total else None)
                next_progress = row + PROGRESS_EVERY
            if not _unreadable(row, cells, flag, max_columns, problems):
                if is_empty(cells):
                    continue
                if reader is None:
                    problems_before = len(problems.items)
                    header = find_header(row, cells, problems, year)
                    if header is None:
                        rows_before_header += 1
                        if rows_before_header >= HEADER_SEARCH_ROWS:
                            break
                    elif len(problems.items) > problems_before:
                        break  # a column is missing or doubled: the rows cannot be read
                    else:
                        reader = RowReader(header, problems)
                    continue
                parsed = reader.read(row, cells)
                if parsed is not None:
                    valid.append(parsed)
            if header is not None:
                rows_read += 1
    except FileRefused as refusal:
        problems.add(refusal.problem.row, None, refusal.problem.message_zh, refusal.problem.message_en)
    finally:
        source.rows.close()
    if progress is not None and last_row:
        progress(last_row, last_row)
    return header, valid, rows_read


def _unreadable(row: int, cells: Sequence[object], flag: RowFlag | None, max_columns: int, problems: Problems) -> bool:
    """Add the problem of a row that cannot be read at all (undecodable bytes, too many columns)."""
    width = flag.columns if flag is not None and flag.kind == "wide" else row_width(cells)
    if flag is not None and flag.kind == "undecodable":
        problems.add(
            row,
            None,
            "含有既非 UTF-8 也非 Big5（CP950）的位元組，無法解讀",
            "contains bytes that are neither UTF-8 nor Big5 (CP950) and cannot be read",
        )
        return True
    if width > max_columns:
        problems.add(
            row,
            None,
            f"共 {width:,} 欄，超過上限 {max_columns} 欄",
            f"{width:,} columns: at most {max_columns} are allowed",
        )
        return True
    return False


def _check_rows(
    valid: list[Row], header: Header, strata: Mapping[str, str], problems: Problems, form_year: int | None = None
) -> tuple[dict[str, Row], dict[str, list[Row]]]:
    """Checks across rows: one year per file (the form's, when one was chosen), a stratum for
    every type, one name per ID, and no template example row left in.

    Returns each national ID's first row (in row order) and, for the IDs on several rows, all
    their rows; one list per ID only where there is more than one row.
    """
    years = Counter(r.year for r in valid)
    file_year, year_rows = years.most_common(1)[0] if years else (0, 0)
    first_rows: dict[str, Row] = {}
    merged_rows: dict[str, list[Row]] = {}
    if form_year is not None and year_rows and file_year != form_year:
        where_zh, where_en = header.where("year")
        problems.add(
            None,
            "year",
            f"{where_zh}的年度是 {file_year}，但上傳時選的是 {form_year} 年度；請改選 {file_year} 年度，"
            "或更正檔案（檔案沒有年度欄時，以上傳時選的年度為準）",
            f"{where_en} says year {file_year}, but year {form_year} was chosen for the upload; choose "
            f"{file_year}, or correct the file (a file without a year column takes the year chosen)",
        )
    for r in valid:
        _check_row_against_file(r, header, strata, problems, file_year, year_rows)
        first = first_rows.setdefault(r.national_id, r)
        if first is r:
            continue
        if _name_key(first.name) != _name_key(r.name):
            masked = mask_national_id(r.national_id)
            where_zh, where_en = header.where("name")
            problems.add(
                r.row,
                "name",
                f"{where_zh}：身分證字號（{masked}）與第 {first.row} 列相同，姓名卻不同；請核對身分證字號",
                f"{where_en}: same national ID ({masked}) as row {first.row} but a different name; check the ID",
            )
        merged_rows.setdefault(r.national_id, [first]).append(r)
    return first_rows, merged_rows


def _check_row_against_file(
    r: Row, header: Header, strata: Mapping[str, str], problems: Problems, file_year: int, year_rows: int
) -> None:
    """One row against the rest: not the template's example, the file's year, a type with a stratum."""
    example_name, example_id = TEMPLATE_EXAMPLE[0], TEMPLATE_EXAMPLE[1]
    if r.national_id == example_id and r.name == example_name:
        problems.add(
            r.row,
            None,
            "這是範本的範例列，請刪除後再上傳",
            "this is the template's example row; delete it before uploading",
        )
    if r.year != file_year:
        where_zh, where_en = header.where("year")
        problems.add(
            r.row,
            "year",
            f"{where_zh}：{r.year} 與檔案中其他 {year_rows} 列的年度 {file_year} 不同；一個檔案只能有一個年度",
            f"{where_en}: {r.year} differs from {file_year}, the year of {year_rows} other rows; a file holds one year",
        )
    if r.declaration_type not in strata:
        where_zh, where_en = header.where("declaration_type")
        label_zh, label_en = DECLARATION_TYPES[r.declaration_type]
        problems.add(
            r.row,
            "declaration_type",
            f"{where_zh}：抽籤規則沒有為「{label_zh}」指定分層",
            f"{where_en}: the draw rule gives no stratum to {label_en} declarations",
        )
