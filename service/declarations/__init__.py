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

The parts: `uploads` (an upload's life and its background jobs), `checked_lines` (the stored
lines and their bulk insert) and `population` (exclusions, counts, the population file and the
freeze). Their public names are importable from here.
"""

from service.declarations.checked_lines import (
    CHECKED_COLUMNS,
    INSERT_CHUNK,
    MAX_PROBLEMS_KEPT,
    SQLITE_IMPORT_CACHE_KIB,
    random_order,
    write_declarants,
)
from service.declarations.population import (
    DeclarationError,
    exclude_declarant,
    find_declarant,
    include_declarant,
    office_strata,
    population_counts,
    population_file,
    population_summary,
    year_is_frozen,
    years,
)
from service.declarations.uploads import (
    PROGRESS_SECONDS,
    STALLED_AFTER,
    discard_upload,
    import_upload,
    mark_if_stalled,
    purge_stale_uploads,
    seal_file,
    start_upload,
    stored_file,
)

__all__ = [
    "CHECKED_COLUMNS",
    "INSERT_CHUNK",
    "MAX_PROBLEMS_KEPT",
    "PROGRESS_SECONDS",
    "SQLITE_IMPORT_CACHE_KIB",
    "STALLED_AFTER",
    "DeclarationError",
    "discard_upload",
    "exclude_declarant",
    "find_declarant",
    "import_upload",
    "include_declarant",
    "mark_if_stalled",
    "office_strata",
    "population_counts",
    "population_file",
    "population_summary",
    "purge_stale_uploads",
    "random_order",
    "seal_file",
    "start_upload",
    "stored_file",
    "write_declarants",
    "year_is_frozen",
    "years",
]
