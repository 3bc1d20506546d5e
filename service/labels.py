"""Human labels for stored codes (statuses, strata), translated like every other string."""

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


STRATUM_LABELS = {
    "*": _l("All declarations"),
    "regular": _l("Regular declarations (定期申報)"),
    "non-regular": _l("On taking office, leaving or acting (就到、卸離、代理申報)"),
}


def stratum_label(key: str) -> str:
    """A stratum's name for people (the code itself when the office uses its own)."""
    return str(STRATUM_LABELS.get(key, key))
