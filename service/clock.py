"""What "now" is for the draw's timing rules (protocol §4–§5): notice, the input window, the beacon.

The rules are only as good as the clock they read, so the clock is one function and tests move
it instead of sleeping: in-process tests fix it with `fix_clock(app, moment)`; tests that run
real servers point `SUNSHINE_CLOCK_FILE` at a file holding the time (refused in production).
"""

from datetime import datetime

from flask import Flask, current_app, has_app_context

from lottery.errors import ProtocolError
from lottery.timestamps import parse_timestamp
from service.models import utcnow

_FIXED = "sunshine_fixed_clock"


def fix_clock(app: Flask, moment: datetime | None) -> None:
    """Make `now()` answer `moment` in this app (None: the real clock again). Tests only."""
    if moment is None:
        app.extensions.pop(_FIXED, None)
    else:
        app.extensions[_FIXED] = moment


def now() -> datetime:
    """The present for the draw's timing rules: the real UTC time unless a test moved it."""
    if not has_app_context():
        return utcnow()
    fixed: datetime | None = current_app.extensions.get(_FIXED)
    if fixed is not None:
        return fixed
    settings = current_app.extensions.get("sunshine_settings")
    clock_file = getattr(settings, "clock_file", None)
    if clock_file is not None:
        try:
            return parse_timestamp(clock_file.read_text(encoding="ascii").strip(), "clock file")
        except (OSError, ProtocolError, UnicodeDecodeError):
            pass  # no readable time: the real clock
    return utcnow()
