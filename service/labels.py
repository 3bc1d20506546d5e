"""Human labels for stored codes (statuses), translated like every other string."""

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "draft": _l("draft"),
    "announced": _l("announced"),
    "completed": _l("completed"),
    "abandoned": _l("abandoned"),
    "parsing": _l("checking"),
    "invalid": _l("has problems"),
    "ready": _l("ready to import"),
    "importing": _l("importing"),
    "imported": _l("imported"),
    "discarded": _l("discarded"),
    "failed": _l("interrupted"),
}


def status_label(code: str) -> str:
    """The translated label of a status code (the code itself when unknown)."""
    return str(STATUS_LABELS.get(code, code))
