"""One data row: each cell parsed and checked, problems collected (repeated ones grouped)."""

from collections.abc import Callable, Sequence
from datetime import date
from typing import NamedTuple, TypeVar

from service.declaration_files.cells import cell_text, text_field
from service.declaration_files.dates import parse_declaration_date, parse_roc_year
from service.declaration_files.filing_types import parse_declaration_type
from service.declaration_files.headers import COLUMN_ALIASES, COLUMN_BY_HEADER, Header, column_letter, header_key
from service.declaration_files.model import COLUMN_LABELS, TEXT_LIMITS, CellValueError, Problem
from service.declaration_files.national_ids import parse_national_id, plain_national_id, shown_text


class Row(NamedTuple):
    row: int
    name: str
    national_id: str
    agency: str
    title: str
    declaration_type: str
    declared_on: date
    year: int


_Value = TypeVar("_Value")


class Problems:
    """Problems in the order found, up to a limit; the rest are counted in one last problem."""

    def __init__(self, limit: int) -> None:
        self.items: list[Problem] = []
        self.limit = limit
        self.dropped = 0

    def add(self, row: int | None, column: str | None, message_zh: str, message_en: str) -> None:
        if len(self.items) < self.limit:
            self.items.append(Problem(row, column, message_zh, message_en))
        else:
            self.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def finish(self) -> list[Problem]:
        found = sorted(self.items, key=lambda p: -1 if p.row is None else p.row)
        if self.dropped:
            found.append(
                Problem(
                    None,
                    None,
                    f"另有 {self.dropped} 個問題未列出；請先修正以上問題",
                    f"{self.dropped} more problems are not listed; fix the ones above first",
                )
            )
        return found


def is_empty(cells: Sequence[object]) -> bool:
    first = cells[0] if cells else None
    if type(first) is str and first and not first.isspace():
        return False  # the usual row, decided by its first cell
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def row_width(cells: Sequence[object]) -> int:
    """The number of cells up to the last non-empty one."""
    width = len(cells)
    while width and (cells[width - 1] is None or cells[width - 1] == ""):
        width -= 1
    return width


def find_header(row: int, cells: Sequence[object], problems: Problems, year: int | None = None) -> Header | None:
    """The header in this row, or None when the row names fewer than two known columns.

    A header naming one column twice or missing a required column is returned with the
    problems added; the caller stops reading when it sees them. The year column is required
    only when no `year` was chosen on the form.
    """
    found: dict[str, list[tuple[int, str]]] = {}
    for index, cell in enumerate(cells):
        text = cell_text(cell).strip().replace("\ufeff", "")
        column = COLUMN_BY_HEADER.get(header_key(text))
        if column is not None:
            found.setdefault(column, []).append((index, text))
    if len(found) < 2:
        return None
    for column, places in found.items():
        if len(places) > 1:
            zh = "、".join(f"{column_letter(i)} 欄「{shown_text(t)}」" for i, t in places)
            en = ", ".join(f"column {column_letter(i)} ({shown_text(t)})" for i, t in places)
            label_zh, label_en = COLUMN_LABELS[column]
            problems.add(
                row, column, f"{zh} 都是「{label_zh}」，只能有一欄", f"{en} are all the {label_en} column; keep one"
            )
    for column, (label_zh, label_en) in COLUMN_LABELS.items():
        if column not in found and not (column == "year" and year is not None):
            chinese = [a for a in COLUMN_ALIASES[column] if not a.isascii()][:2]
            english = next(a for a in COLUMN_ALIASES[column] if a.isascii())
            problems.add(
                row,
                column,
                f"缺少必要欄位「{label_zh}」（欄名可用：{'、'.join([*chinese, english])}）",
                f'the required column "{label_en}" is missing (use a header such as {", ".join([*chinese, english])})',
            )
    return Header(
        row,
        {column: places[0][0] for column, places in found.items()},
        {column: places[0][1] for column, places in found.items()},
        year if "year" not in found else None,
    )


def _parse_name(value: object) -> str:
    return text_field(value, TEXT_LIMITS["name"])


def _parse_agency(value: object) -> str:
    return text_field(value, TEXT_LIMITS["agency"])


def _parse_title(value: object) -> str:
    return text_field(value, TEXT_LIMITS["title"])


def _parse_cell(
    row: int,
    cells: Sequence[object],
    header: Header,
    column: str,
    parse: Callable[[object], _Value],
    problems: Problems,
) -> _Value | None:
    index = header.index[column]
    try:
        return parse(cells[index] if index < len(cells) else None)
    except CellValueError as error:
        where_zh, where_en = header.where(column)
        problems.add(row, column, f"{where_zh}：{error.message_zh}", f"{where_en}: {error.message_en}")
        return None


def _read_row(row: int, cells: Sequence[object], header: Header, problems: Problems) -> Row | None:
    """The row's values, or None when any cell is refused (each refusal is added to problems)."""
    name = _parse_cell(row, cells, header, "name", _parse_name, problems)
    national_id = _parse_cell(row, cells, header, "national_id", parse_national_id, problems)
    agency = _parse_cell(row, cells, header, "agency", _parse_agency, problems)
    title = _parse_cell(row, cells, header, "title", _parse_title, problems)
    declaration_type = _parse_cell(row, cells, header, "declaration_type", parse_declaration_type, problems)
    declared_on = _parse_cell(row, cells, header, "declared_on", parse_declaration_date, problems)
    year = header.year if header.year is not None else _parse_cell(row, cells, header, "year", parse_roc_year, problems)
    if (
        name is None
        or national_id is None
        or agency is None
        or title is None
        or declaration_type is None
        or declared_on is None
        or year is None
    ):
        return None
    return Row(row, name, national_id, agency, title, declaration_type, declared_on, year)


#: How many different values of one column a `RowReader` remembers.
_REMEMBERED_VALUES = 65536


class RowReader:
    """`_read_row` for every row under one header, remembering values it has already checked.

    A year's list repeats the same few agencies, titles, declaration types, dates and years
    on every row; each distinct text is checked once and its result shared, which saves the
    time of checking it again and the memory of a copy per row. A row with any refused cell
    is read again by `_read_row`, which names every problem in it.
    """

    def __init__(self, header: Header, problems: Problems) -> None:
        self.header = header
        self.problems = problems
        # Without a year column (the form's year is used) the year is read from the name column
        # and replaced: the fast path below stays one shape.
        index = {"year": header.index["name"], **header.index}
        self.columns = tuple(
            index[c] for c in ("name", "national_id", "agency", "title", "declaration_type", "declared_on", "year")
        )
        self.fixed_year = header.year
        self.agencies: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.dates: dict[str, date] = {}
        self.years: dict[str, int] = {}
        self.last_column = max(self.columns)
        self.name_limit = TEXT_LIMITS["name"]

    def read(self, row: int, cells: Sequence[object]) -> Row | None:
        """The row's values, or None when a cell is refused (the problems are recorded)."""
        name_at, id_at, agency_at, title_at, type_at, date_at, year_at = self.columns
        if len(cells) > self.last_column and type(cells) is list:
            # A CSV row with every column: its cells are text. Values seen before are taken from
            # memory, an ID written exactly and a plain name are checked here; anything else
            # goes through the full checks below.
            name, national_id = cells[name_at], cells[id_at]
            agency = self.agencies.get(cells[agency_at])
            title = self.titles.get(cells[title_at])
            kind = self.types.get(cells[type_at])
            declared_on = self.dates.get(cells[date_at])
            year = self.fixed_year or self.years.get(cells[year_at])
            if (
                agency is not None
                and title is not None
                and kind is not None
                and declared_on is not None
                and year is not None
                and plain_national_id(national_id)
                and name.isprintable()
                and 0 < len(name) <= self.name_limit
                and not name[0].isspace()
                and not name[-1].isspace()
            ):
                return Row(row, name, national_id, agency, title, kind, declared_on, year)
        width = len(cells)
        try:
            name = _parse_name(cells[name_at] if name_at < width else None)
            national_id = parse_national_id(cells[id_at] if id_at < width else None)
            agency = _remembered(self.agencies, cells[agency_at] if agency_at < width else None, _parse_agency)
            title = _remembered(self.titles, cells[title_at] if title_at < width else None, _parse_title)
            kind = _remembered(self.types, cells[type_at] if type_at < width else None, parse_declaration_type)
            declared_on = _remembered(self.dates, cells[date_at] if date_at < width else None, parse_declaration_date)
            year = self.fixed_year or _remembered(
                self.years, cells[year_at] if year_at < width else None, parse_roc_year
            )
        except CellValueError:
            return _read_row(row, cells, self.header, self.problems)
        return Row(row, name, national_id, agency, title, kind, declared_on, year)


def _remembered(memory: dict[str, _Value], value: object, parse: Callable[[object], _Value]) -> _Value:
    """`parse(value)`, remembered for text values (a refusal is not remembered: it raises again)."""
    if type(value) is not str:
        return parse(value)
    found = memory.get(value)
    if found is None:
        found = parse(value)
        if len(memory) < _REMEMBERED_VALUES:
            memory[value] = found
    return found
