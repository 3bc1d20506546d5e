"""What a declaration list is read into: the declaration types, the column names, the limits,
and the records (`Filing`, `Declarant`, `Problem`, `Merge`, `ParsedFile`)."""

import re
from dataclasses import dataclass, field
from datetime import date

#: Declaration types: code -> (zh-TW label, English label). Names follow the Act, Arts. 2-3 and 7.
DECLARATION_TYPES: dict[str, tuple[str, str]] = {
    "regular": ("定期申報", "regular"),
    "taking-office": ("就(到)職申報", "taking office"),
    "leaving-office": ("卸(離)職申報", "leaving office"),
    "acting": ("代理申報", "acting"),
    "concurrent": ("兼任申報", "concurrent post"),
    "acting-end": ("代理(兼任)期間屆滿申報", "end of acting or concurrent post"),
    "trust": ("信託申報", "trust"),
    "correction": ("更正申報", "correction"),
    "supplement": ("補正申報", "supplement"),
}


#: Type code → the zh-TW label stored with each declarant (`type_label`, `filings[].label`).
TYPE_LABELS = {code: zh for code, (zh, _) in DECLARATION_TYPES.items()}


#: The strata the county example in docs/architecture.md uses: regular filings, and all the others.
DEFAULT_STRATA: dict[str, str] = {code: "regular" if code == "regular" else "non-regular" for code in DECLARATION_TYPES}


#: A stratum name as `population.tsv` allows it (protocol §2, `lottery.population.STRATUM_PATTERN`).
STRATUM_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


#: Column keys (as `Problem.column` carries them) -> (zh-TW label, English label), in file order.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "name": ("姓名", "name"),
    "national_id": ("身分證字號", "national ID"),
    "agency": ("服務機關", "agency"),
    "title": ("職稱", "title"),
    "declaration_type": ("申報類別", "declaration type"),
    "declared_on": ("申報日期", "declaration date"),
    "year": ("年度", "year"),
}


MAX_COLUMNS = 200


MAX_PROBLEMS = 1000


MAX_XLSX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024


MAX_XLSX_MEMBERS = 1000


PROGRESS_EVERY = 1000


HEADER_SEARCH_ROWS = 10


TEXT_LIMITS = {"name": 100, "agency": 200, "title": 100}


# The Act was promulgated in 1993 (ROC 82): an earlier date is a typing error, often a
# two-digit Gregorian year read as a ROC year.
EARLIEST_DECLARATION = date(1993, 1, 1)


ROC_OFFSET = 1911


@dataclass(frozen=True)
class Filing:
    """One row of the file: a filing of `declaration_type` (code) dated `declared_on`."""

    row: int
    declaration_type: str
    type_label: str
    declared_on: date


@dataclass(frozen=True)
class Declarant:
    """One person in the year's population.

    `row` is the person's first row; the name, agency, title, type and date come from the kept
    filing (see `parse_declaration_file`); `filings` holds every filing in row order.
    """

    row: int
    name: str
    national_id: str = field(repr=False)
    agency: str
    title: str
    declaration_type: str
    type_label: str
    stratum: str
    declared_on: date
    year: int
    filings: tuple[Filing, ...]


@dataclass(frozen=True)
class Problem:
    """Why the file was refused.

    `row` is the Excel row (None for the whole file); `column` is a key of `COLUMN_LABELS` (None
    when the problem is not about one column). The messages name the column letter and header
    as written in the file but not the row; `text_zh` / `text_en` prefix the row.
    """

    row: int | None
    column: str | None
    message_zh: str
    message_en: str

    @property
    def text_zh(self) -> str:
        """The message with its row, e.g. `第 5 列，C 欄「身分證字號」：檢查碼不符`."""
        return self.message_zh if self.row is None else f"第 {self.row} 列，{self.message_zh}"

    @property
    def text_en(self) -> str:
        """The message with its row, e.g. `Row 5, column C (身分證字號): check digit ...`."""
        return self.message_en if self.row is None else f"Row {self.row}, {self.message_en}"


@dataclass(frozen=True)
class Merge:
    """Rows `rows` belong to one person; `kept_row` is the filing the declarant keeps."""

    national_id_masked: str
    rows: tuple[int, ...]
    kept_row: int


@dataclass(frozen=True)
class ParsedFile:
    """The result of `parse_declaration_file`.

    All or nothing: when `problems` is non-empty, `declarants` and `merges` are empty.
    `rows_read` counts the non-empty data rows read; `encoding` is `utf-8`, `utf-8-sig`, `cp950`,
    `xlsx`, or `unknown` when the file was refused before it could be decoded.
    """

    declarants: list[Declarant]
    problems: list[Problem]
    merges: list[Merge]
    rows_read: int
    encoding: str

    @property
    def ok(self) -> bool:
        """True when the file was accepted."""
        return not self.problems


class CellValueError(ValueError):
    """A cell's value is not acceptable; `message_zh` and `message_en` say why (str() is English)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en
