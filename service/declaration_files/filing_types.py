"""Declaration types as offices write them (就到, 卸職, 代理 …) mapped to the Act's, the accepted
forms and the templates the upload page offers, and the office's strata."""

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Mapping

from service.declaration_files.cells import cell_text
from service.declaration_files.model import COLUMN_LABELS, DECLARATION_TYPES, STRATUM_PATTERN, CellValueError
from service.declaration_files.national_ids import shown_text

_TYPE_NOISE = re.compile(r"[\s()\[\]{}【】〔〕「」『』<>《》_\-.·・:]")


_TYPE_ALIASES: dict[str, str] = {
    "定期": "regular",
    "年度定期": "regular",
    "regular": "regular",
    "periodic": "regular",
    "就到職": "taking-office",
    "到就職": "taking-office",
    "就到": "taking-office",
    "到就": "taking-office",
    "到任": "taking-office",
    "就職": "taking-office",
    "到職": "taking-office",
    "就任": "taking-office",
    "takingoffice": "taking-office",
    "卸離職": "leaving-office",
    "離卸職": "leaving-office",
    "卸離": "leaving-office",
    "離卸": "leaving-office",
    "離任": "leaving-office",
    "卸職": "leaving-office",
    "離職": "leaving-office",
    "卸任": "leaving-office",
    "leavingoffice": "leaving-office",
    "代理": "acting",
    "acting": "acting",
    "兼任": "concurrent",
    "concurrent": "concurrent",
    "actingend": "acting-end",
    "endofacting": "acting-end",
    "信託": "trust",
    "trust": "trust",
    "更正": "correction",
    "correction": "correction",
    "補正": "supplement",
    "supplement": "supplement",
}


# 代理(兼任)期間屆滿 and the shorter forms offices write: 代理期間屆滿, 兼任期滿, 代理結束 ...
_ACTING_END = re.compile(r"(?:代理|兼任|代理兼任|兼任代理)(?:職務)?(?:期間|期)?(?:屆滿|期滿|結束)")


def parse_declaration_type(value: object) -> str:
    """Return the type code (a key of `DECLARATION_TYPES`) for a declaration type as written.

    Full- and half-width forms, brackets, spaces and a trailing 申報 are ignored, so
    `就（到）職申報`, `就(到)職`, `到職` and `taking-office` are all `taking-office`.
    Raises `CellValueError` for an empty or unknown type.
    """
    original = cell_text(value).strip()
    if not original:
        raise CellValueError("不可空白", "must not be empty")
    key = _TYPE_NOISE.sub("", unicodedata.normalize("NFKC", original)).casefold().removesuffix("申報")
    code = _TYPE_ALIASES.get(key)
    if code is None and _ACTING_END.fullmatch(key):
        code = "acting-end"
    if code is None:
        known = [label.removesuffix("申報") for label, _ in DECLARATION_TYPES.values()]
        shown = shown_text(original)
        raise CellValueError(
            f"不認得的申報類別「{shown}」；可用：{'、'.join(known)}",
            f'unknown declaration type "{shown}"; expected one of: {", ".join(known)} '
            f"(or {', '.join(DECLARATION_TYPES)})",
        )
    return code


#: How offices write the end of an acting or concurrent post (`_ACTING_END` reads these and the like).
_ACTING_END_SHOWN = ("代理期間屆滿", "兼任期間屆滿", "代理期滿", "兼任期滿", "代理結束")


def accepted_type_forms() -> list[tuple[str, str, str, list[str]]]:
    """Each declaration type as (code, zh-TW label, English label, the other ways of writing it
    that `parse_declaration_type` accepts), for the upload page's table.

    The Chinese forms are listed without 申報; each is accepted with it too, with full- or
    half-width brackets and spaces anywhere.
    """
    forms: dict[str, list[str]] = {code: [] for code in DECLARATION_TYPES}
    for key, code in _TYPE_ALIASES.items():
        if not key.isascii():
            forms[code].append(key)
    forms["acting-end"].extend(_ACTING_END_SHOWN)
    return [
        (code, label_zh, label_en, list(dict.fromkeys([label_zh.removesuffix("申報"), *forms[code], code])))
        for code, (label_zh, label_en) in DECLARATION_TYPES.items()
    ]


#: The template the upload page offers: the columns in the order offices export them, without
#: 年度 (the year is chosen on the form), and one example row — which the check refuses, so a
#: template uploaded with its example still in it names that row instead of importing a person.
TEMPLATE_COLUMNS = ("name", "national_id", "agency", "title", "declaration_type", "declared_on")


TEMPLATE_EXAMPLE = ("範例王小明", "A123456789", "金門縣政府財政處", "處長", "就到職", "114/03/15")


def template_csv() -> bytes:
    """The template as CSV: UTF-8 with a BOM (Excel on Windows then reads the Chinese right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([COLUMN_LABELS[column][0] for column in TEMPLATE_COLUMNS])
    writer.writerow(TEMPLATE_EXAMPLE)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def template_xlsx() -> bytes:
    """The template as an XLSX workbook, every cell text (so Excel keeps 114/03/15 and IDs as typed)."""
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

    workbook = Workbook()
    sheet = workbook.active
    if not isinstance(sheet, Worksheet):  # a new workbook opens on its one worksheet
        raise TypeError("a new workbook has no active worksheet")
    sheet.title = "申報名冊"
    sheet.append([COLUMN_LABELS[column][0] for column in TEMPLATE_COLUMNS])
    sheet.append(list(TEMPLATE_EXAMPLE))
    for letter, width in zip("ABCDEF", (14, 14, 24, 14, 18, 14), strict=True):
        sheet.column_dimensions[letter].width = width
        for cell in sheet[letter]:
            cell.number_format = "@"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def check_strata(strata: Mapping[str, str]) -> dict[str, str]:
    """Validate a type-code -> stratum mapping and return it as a dict.

    Keys must be codes of `DECLARATION_TYPES`; values must match `STRATUM_PATTERN`. A code may be
    left out, but a file holding a filing of that type is then refused. Raises `ValueError`.
    """
    checked: dict[str, str] = {}
    for code, stratum in strata.items():
        if code not in DECLARATION_TYPES:
            raise ValueError(f"unknown declaration type code {code!r}; known: {', '.join(DECLARATION_TYPES)}")
        if not isinstance(stratum, str) or not STRATUM_PATTERN.fullmatch(stratum):
            raise ValueError(f"stratum {stratum!r} for {code!r} must match {STRATUM_PATTERN.pattern}")
        checked[code] = stratum
    if not checked:
        raise ValueError("at least one declaration type needs a stratum")
    return checked
