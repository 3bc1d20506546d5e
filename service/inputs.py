"""Bounded input: no number, query or JSON body from a request can make a view fail with a 500.

- `<id:...>` and `<year:...>` URL converters: ASCII digits only, no leading zero, within the
  database's INTEGER range (ids) or a plausible ROC year; anything else is a 404 before any view
  runs (Werkzeug's `<int:...>` takes full-width digits and numbers SQLite and PostgreSQL overflow on).
- `query_int()`: an integer query parameter (`?page=`, `?year=`, `?start=`…) within bounds, or a 400
  that names the parameter and the range.
- `parse_id()`: the same rule for an id in a form value (`assignee=`, `case-<id>=`).
- JSON bodies: at most `MAX_JSON_BYTES` and `MAX_JSON_DEPTH` levels of nesting, checked before any
  view parses them (413 / 400 with a JSON message); Python's parser would otherwise recurse until
  `RecursionError` on 100,000 nested brackets.
"""

from typing import Any

import wtforms
from flask import Flask, abort, request
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter, ValidationError

#: The largest value of a PostgreSQL INTEGER column (every id, log index and tree size here).
MAX_ID = 2**31 - 1
#: ROC years (民國): 1 is 1912; three digits reach 2910.
MIN_YEAR, MAX_YEAR = 1, 999
#: A page number beyond this is no list this service shows.
MAX_PAGE = 100_000
#: The largest JSON body the API accepts (a review step is a few hundred bytes).
MAX_JSON_BYTES = 64 * 1024
#: The deepest nesting of objects and arrays a JSON body may have (the API's are two deep).
MAX_JSON_DEPTH = 32


def ascii_int(text: str, low: int, high: int) -> int | None:
    """`text` as an integer when it is plain ASCII digits (no sign, space, full-width or
    superscript digit, at most one leading zero) within [low, high]; otherwise None."""
    if not text or len(text) > 12 or not text.isascii() or not text.isdigit():
        return None
    if len(text) > 1 and text[0] == "0":
        return None
    value = int(text)
    return value if low <= value <= high else None


class IdConverter(BaseConverter):
    """`<id:name>`: a database id, 1 to 2³¹−1 in ASCII digits; anything else is a 404."""

    regex = r"[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        number = ascii_int(value, 1, MAX_ID)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class YearConverter(IdConverter):
    """`<year:name>`: an ROC year, 1 to 999; anything else is a 404."""

    regex = r"[0-9]{1,3}"

    def to_python(self, value: str) -> int:
        number = ascii_int(value, MIN_YEAR, MAX_YEAR)
        if number is None:
            raise ValidationError()
        return number


class IntegerField(wtforms.IntegerField):
    """WTForms' integer field, taking ASCII digits only (with an optional minus sign): `int()` also
    takes `１２` (full-width), `+5`, ` 5 ` and `1_000`, which no one types into a form on purpose."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and isinstance(valuelist[0], str):
            text = valuelist[0].strip()
            digits = text.removeprefix("-")
            if text and not (digits.isascii() and digits.isdigit() and len(digits) <= 12):
                self.data = None
                raise ValueError(self.gettext("Not a valid integer value."))
        super().process_formdata(valuelist)


def parse_id(text: str) -> int | None:
    """An id typed in a form value, or None when it is not one (caller answers 400)."""
    return ascii_int(text, 1, MAX_ID)


def query_int(name: str, default: int | None = None, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """Query parameter `name` as an integer in [low, high]; `default` when absent or empty.

    Anything else (a sign, a full-width digit, a huge number) is a 400 that says what is wanted.
    """
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    value = ascii_int(raw, low, high)
    if value is None:
        abort(
            400,
            description=gettext(
                "The parameter %(name)s must be a whole number from %(low)s to %(high)s.", name=name, low=low, high=high
            ),
        )
    return value


def json_depth_exceeds(data: bytes, limit: int) -> bool:
    """True when `data` nests objects/arrays more than `limit` deep (brackets in strings ignored)."""
    depth, in_string, escaped = 0, False, False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def register(app: Flask) -> None:
    """Install the converters (before any blueprint) and the JSON body limits."""
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["year"] = YearConverter

    @app.before_request
    def limit_json_bodies() -> None:
        if not request.is_json:
            return
        # Werkzeug refuses to read past this (413), whatever Content-Length claims or chunks bring.
        request.max_content_length = MAX_JSON_BYTES
        try:
            data = request.get_data(cache=True)
        except RequestEntityTooLarge:
            abort(413, description=gettext("The JSON body is larger than %(kb)s KB.", kb=MAX_JSON_BYTES // 1024))
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            abort(400, description=gettext("The JSON body is nested too deeply."))
