"""The verification report: one named check per line, each passed, failed or skipped.

`lottery.bundle` fills a `Report` while it checks a bundle; the CLI prints `Check.line()` for
each check and the keyed outcomes are compared with the browser verifier's (`Check.key`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from lottery.errors import ProtocolError

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class Check:
    """One line of the verification report."""

    outcome: str
    what: str
    detail: str = ""
    #: A stable name for checks that the browser verifier also makes (e.g. `events-order`).
    key: str = ""

    def line(self) -> str:
        """The check as the CLI prints it."""
        mark = {PASS: "✓", FAIL: "✗", SKIP: "–"}[self.outcome]
        return f"{mark} {self.what}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Report:
    """Every check made on a bundle; `ok` only when none failed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed (absent optional parts and skipped checks do not fail)."""
        return all(check.outcome != FAIL for check in self.checks)

    def add(self, outcome: str, what: str, detail: str = "", key: str = "") -> None:
        """Record one check."""
        self.checks.append(Check(outcome, what, detail, key))

    def attempt(self, what: str, action: Callable[[], str | None], key: str = "") -> bool:
        """Run `action`; a `ProtocolError` fails the check with its message. Returns success."""
        try:
            detail = action()
        except ProtocolError as exc:
            self.add(FAIL, what, str(exc), key)
            return False
        self.add(PASS, what, detail or "", key)
        return True

    def outcomes(self) -> dict[str, str]:
        """`{key: outcome}` of the keyed checks (the ones the browser verifier names alike)."""
        return {check.key: check.outcome for check in self.checks if check.key}


def fail(message: str) -> None:
    """Refuse with `message` (for a check written as a lambda)."""
    raise ProtocolError(message)
