"""Read one year's asset-declaration list, as exported from the national declaration system.

The package's one entry point: import from `service.declaration_files`, not its modules —
`model`, `cells`, `national_ids`, `filing_types`, `dates`, `headers`, `sources` (CSV and XLSX),
`rows` and `parsing` (the whole file).

Input: the bytes of a CSV file (UTF-8 with or without BOM, or Big5/CP950 as Excel on Windows
saves it; comma- or tab-separated) or of an XLSX workbook (its first worksheet). Output: a
`ParsedFile` holding either every declarant, or, when anything is wrong, no declarant at all and
every problem found, each naming its row and column in zh-TW and English. Nothing here touches
Flask or the database; the service stores the declarants only when `ok` is true.

The header is the first non-empty row (among the first ten) naming at least two known columns, so
a title line above it is allowed. Rows are numbered as Excel shows them: the first row of the file
is row 1, so the first data row under a header in row 1 is row 2. Completely empty rows are
skipped; extra columns are ignored.

One person is one declarant: rows with the same national ID are merged (the draw counts
declarants, not filings) and each merge is listed in `ParsedFile.merges`. The merged declarant
keeps its most significant filing (`kept_filing_rule` below) and the list of all its filings.

Privacy: national ID numbers appear in problems and merges only masked (`A12*****89`), and
`Declarant.national_id` is left out of its `repr` so a log line cannot carry it.
"""

from service.declaration_files.dates import parse_declaration_date, parse_roc_year
from service.declaration_files.filing_types import (
    TEMPLATE_COLUMNS,
    TEMPLATE_EXAMPLE,
    accepted_type_forms,
    check_strata,
    parse_declaration_type,
    template_csv,
    template_xlsx,
)
from service.declaration_files.model import (
    COLUMN_LABELS,
    DECLARATION_TYPES,
    DEFAULT_STRATA,
    MAX_COLUMNS,
    MAX_PROBLEMS,
    MAX_XLSX_UNCOMPRESSED_BYTES,
    STRATUM_PATTERN,
    TYPE_LABELS,
    CellValueError,
    Declarant,
    Filing,
    Merge,
    ParsedFile,
    Problem,
)
from service.declaration_files.national_ids import mask_national_id, parse_national_id
from service.declaration_files.parsing import DeclarationList, parse_declaration_file, read_declaration_file

__all__ = [
    "COLUMN_LABELS",
    "DECLARATION_TYPES",
    "DEFAULT_STRATA",
    "MAX_COLUMNS",
    "MAX_PROBLEMS",
    "MAX_XLSX_UNCOMPRESSED_BYTES",
    "STRATUM_PATTERN",
    "TEMPLATE_COLUMNS",
    "TEMPLATE_EXAMPLE",
    "TYPE_LABELS",
    "CellValueError",
    "Declarant",
    "DeclarationList",
    "Filing",
    "Merge",
    "ParsedFile",
    "Problem",
    "accepted_type_forms",
    "check_strata",
    "mask_national_id",
    "parse_declaration_date",
    "parse_declaration_file",
    "parse_declaration_type",
    "parse_national_id",
    "parse_roc_year",
    "read_declaration_file",
    "template_csv",
    "template_xlsx",
]
