"""National ID numbers (身分證統一編號 and resident certificate numbers): the check digit, and
masking (`A12*****89`) wherever one might be shown."""

import operator
import re
import unicodedata

from service.declaration_files.cells import cell_text
from service.declaration_files.model import CellValueError

# Anything shaped like an ID number, wherever it turns up (a swapped column, say), is masked.
_ID_LIKE = re.compile(r"[A-Za-z][0-9A-Da-d][0-9]{8}")


def shown_text(text: str, limit: int = 40) -> str:
    """A value safe to quote in a message: ID-like text masked, control characters escaped, cut."""
    masked = _ID_LIKE.sub(lambda match: mask_national_id(match.group()), text)
    cut = masked if len(masked) <= limit else masked[:limit] + "…"
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in cut)


# Letter values of the first character (and, for old resident certificates, the second).
_ID_LETTER_VALUES = {
    letter: value
    for letter, value in zip(
        "ABCDEFGHJKLMNPQRSTUVXYWZIO",
        range(10, 36),
        strict=True,
    )
}


_ID_PATTERN = re.compile(r"[A-Z][1289A-D][0-9]{8}")


_ID_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1, 1)


_ID_DIGIT_WEIGHTS = _ID_WEIGHTS[1:]


#: The eight digits are summed from their ASCII codes: this much too much, since "0" is 48.
_ID_DIGITS_OFFSET = ord("0") * sum(_ID_DIGIT_WEIGHTS)


def _national_id_checksum_ok(national_id: str) -> bool:
    first = _ID_LETTER_VALUES[national_id[0]]
    second = national_id[1]
    total: int = first // 10 + (first % 10) * 9
    total += _ID_WEIGHTS[0] * (int(second) if second.isdigit() else _ID_LETTER_VALUES[second] % 10)
    total += sum(map(operator.mul, national_id[2:].encode("ascii"), _ID_DIGIT_WEIGHTS)) - _ID_DIGITS_OFFSET
    return total % 10 == 0


# The same check digit from three table look-ups, for the common case of an ID written exactly
# (upper-case ASCII, no spaces): the weighted sum of the first two characters, of digits 3-6 and
# of digits 7-10. A key that is missing means the text is not in that form (then
# `parse_national_id` decides), so the tables check the shape as they sum.
_ID_HEAD_SUMS = {
    letter + second: (value // 10 + (value % 10) * 9 + _ID_WEIGHTS[0] * second_value) % 10
    for letter, value in _ID_LETTER_VALUES.items()
    for second, second_value in (
        *((digit, int(digit)) for digit in "1289"),
        *((letter2, _ID_LETTER_VALUES[letter2] % 10) for letter2 in "ABCD"),
    )
}


_ID_MIDDLE_SUMS = {
    f"{n:04d}": sum(int(d) * w for d, w in zip(f"{n:04d}", _ID_WEIGHTS[1:5], strict=True)) for n in range(10_000)
}


_ID_TAIL_SUMS = {
    f"{n:04d}": sum(int(d) * w for d, w in zip(f"{n:04d}", _ID_WEIGHTS[5:], strict=True)) for n in range(10_000)
}


def plain_national_id(text: str) -> bool:
    """True when `text` is a valid ID exactly as `parse_national_id` would return it; False means
    "ask `parse_national_id`" (it may be valid in another form, or not valid)."""
    if len(text) != 10:
        return False
    head = _ID_HEAD_SUMS.get(text[:2])
    middle = _ID_MIDDLE_SUMS.get(text[2:6])
    tail = _ID_TAIL_SUMS.get(text[6:])
    return head is not None and middle is not None and tail is not None and (head + middle + tail) % 10 == 0


def parse_national_id(value: object) -> str:
    """Validate a national ID or resident certificate number and return it upper-case.

    Accepted: the national ID card (`A123456789`: a letter, 1 or 2, eight digits), the new-style
    resident certificate (second character 8 or 9) and the old-style one (second character
    A-D); the check digit of all three is verified with the Ministry of the Interior's weights.
    Full-width characters and surrounding spaces are tolerated. Raises `CellValueError`; its
    messages show the number only masked.
    """
    text = cell_text(value)
    # NFKC leaves ASCII as it is: only full-width or other non-ASCII text needs normalising.
    text = (text if text.isascii() else unicodedata.normalize("NFKC", text)).strip().upper()
    if not text:
        raise CellValueError("不可空白", "must not be empty")
    if not _ID_PATTERN.fullmatch(text):
        raise CellValueError(
            "格式不符：應為一個英文字母加 9 位數字（如 A123456789），或居留證統一證號",
            "is not a national ID number: expected a letter and nine digits (like A123456789) "
            "or a resident certificate number",
        )
    if not _national_id_checksum_ok(text):
        masked = mask_national_id(text)
        raise CellValueError(f"檢查碼不符（{masked}）", f"check digit does not match ({masked})")
    return text


def mask_national_id(national_id: str) -> str:
    """Mask an ID for display: `A123456789` -> `A12*****89` (first three and last two kept).

    Any other length is masked completely, so nothing unexpected is ever shown in full.
    """
    if len(national_id) != 10:
        return "*" * len(national_id)
    return national_id[:3] + "*****" + national_id[8:]
