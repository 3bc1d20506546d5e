"""One cell's text: whitespace, refused characters (controls, invisible format characters), lengths."""

import unicodedata
from datetime import date, datetime

from service.declaration_files.model import CellValueError


def cell_text(value: object) -> str:
    """The text of a CSV or XLSX cell value (a whole float shows without `.0`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# Control characters (Cc), invisible format characters (Cf: zero-width, bidi overrides, BOM) and
# line/paragraph separators are refused; `str.isprintable` is the fast path, since it also says
# False for ideographic space, private-use (造字) and not-yet-assigned characters, which are fine.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _refused_character(text: str) -> str | None:
    if text.isprintable():
        return None
    for ch in text:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return ch
    return None


def text_field(value: object, limit: int) -> str:
    text = cell_text(value).strip()
    if not text:
        raise CellValueError("不可空白", "must not be empty")
    bad = _refused_character(text)
    if bad is not None:
        code = f"U+{ord(bad):04X}"
        raise CellValueError(f"含有控制字元或不可見字元 {code}", f"contains the control or invisible character {code}")
    if len(text) > limit:
        raise CellValueError(
            f"長度 {len(text)} 字，超過上限 {limit} 字", f"is {len(text)} characters long; at most {limit} are allowed"
        )
    return text
