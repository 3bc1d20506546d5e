"""The header row: which column is which, in zh-TW or English, whatever the spelling."""

import re
import unicodedata
from dataclasses import dataclass

from service.declaration_files.national_ids import shown_text


def header_key(text: str) -> str:
    return re.sub(r"[\s_\-.()\[\]:*\ufeff]", "", unicodedata.normalize("NFKC", text)).casefold()


COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "申報人姓名", "申報人", "name", "declarant", "declarant name", "full name"),
    "national_id": (
        "身分證字號",
        "身分證統一編號",
        "身分證號",
        "身分證號碼",
        "身份證字號",
        "身份證統一編號",
        "身份證號碼",
        "統一證號",
        "national_id",
        "national id number",
        "id_number",
        "id no",
    ),
    "agency": ("服務機關", "服務機關名稱", "機關", "機關名稱", "服務單位", "agency", "agency name", "organisation"),
    "title": ("職稱", "職務", "職務名稱", "title", "job title", "position"),
    "declaration_type": ("申報類別", "申報類型", "申報種類", "申報別", "type", "declaration type", "filing type"),
    "declared_on": ("申報日期", "申報日", "日期", "date", "declaration date", "declared on", "filing date"),
    "year": ("年度", "申報年度", "year", "declaration year"),
}


COLUMN_BY_HEADER: dict[str, str] = {
    header_key(alias): column for column, aliases in COLUMN_ALIASES.items() for alias in aliases
}


# "organization" normalises differently from "organisation"
COLUMN_BY_HEADER[header_key("organization")] = "agency"


def column_letter(index: int) -> str:
    """`0` -> `A`, `26` -> `AA` (the letters Excel shows above a column)."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@dataclass(frozen=True)
class Header:
    row: int
    index: dict[str, int]
    texts: dict[str, str]
    #: The year chosen on the upload form, for a file without a year column (else None).
    year: int | None = None

    def where(self, column: str) -> tuple[str, str]:
        position = self.index[column]
        letter = column_letter(position)
        text = shown_text(self.texts[column])
        return f"{letter} 欄「{text}」", f"column {letter} ({text})"
