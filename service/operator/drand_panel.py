"""What the console shows for the drand step: a countdown to the round, and when the relays cannot be
reached, why in plain words, the exact URLs of the round, a QR code so a phone can fetch it, and a
box to paste the JSON it shows. Every sentence is translated; no errno or exception text appears."""

from dataclasses import dataclass, field
from typing import Any

from flask import g
from flask_babel import gettext

from lottery.drand import round_time
from service import clock
from service.config import Settings
from service.drand_client import Problem, round_url
from service.models import Draw
from service.qr import qr_svg


@dataclass
class DrandPanel:
    """The drand step's help on the console."""

    round: int
    available_at: int
    seconds_left: int
    urls: list[str]
    qr: Any
    #: Sentences saying why the last attempt failed (empty when there was none).
    reasons: list[str] = field(default_factory=list)
    #: The text pasted last, kept in the box when it did not verify.
    pasted: str = ""


def relay_sentence(problem: Problem, round_number: int, settings: Settings) -> str:
    """One relay's failure, in words (never the exception's text)."""
    relay = problem.relay
    timeout = f"{settings.drand_timeout_seconds:g}"
    sentences: dict[str, str] = {
        "timeout": gettext(
            "%(relay)s did not answer within %(seconds)s seconds.",
            relay=relay,
            seconds=timeout,
        ),
        "refused": gettext("%(relay)s refused the connection: a firewall may block it from this network.", relay=relay),
        "dns": gettext(
            "The name of %(relay)s cannot be looked up from this network (no Internet name service?).", relay=relay
        ),
        "tls": gettext(
            "The secure connection to %(relay)s failed: its certificate could not be checked "
            "(is something on the network inspecting HTTPS?).",
            relay=relay,
        ),
        "proxy": gettext(
            "The proxy %(proxy)s could not be reached, or would not connect to %(relay)s.",
            proxy=settings.drand_proxy or "—",
            relay=relay,
        ),
        "unreachable": gettext("%(relay)s cannot be reached from this network.", relay=relay),
        "not-yet": gettext("%(relay)s does not have round %(round)s yet.", relay=relay, round=round_number),
        "http": gettext("%(relay)s answered with an error (HTTP %(status)s).", relay=relay, status=problem.status),
        "malformed": gettext("%(relay)s answered, but not with a drand round.", relay=relay),
        "wrong-round": gettext("%(relay)s gave another round, not round %(round)s.", relay=relay, round=round_number),
        "bad-randomness": gettext(
            "%(relay)s gave a round whose randomness does not match its signature: it was not used.", relay=relay
        ),
        "bad-signature": gettext(
            "%(relay)s gave a round whose signature does not verify against the League of Entropy's key: "
            "it is not genuine and was not used.",
            relay=relay,
        ),
    }
    return sentences.get(problem.kind, sentences["unreachable"])


def pasted_sentence(kind: str, round_number: int) -> str:
    """Why a pasted round was refused, in words."""
    sentences: dict[str, str] = {
        "malformed": gettext(
            "The pasted text is not a drand round's JSON: copy everything the link shows, from { to }."
        ),
        "wrong-round": gettext(
            "The pasted JSON is another round: this draw announced round %(round)s.", round=round_number
        ),
        "bad-randomness": gettext(
            "The pasted round's randomness does not match its signature: it was altered, and was not used."
        ),
        "bad-signature": gettext(
            "The pasted round's signature does not verify against the League of Entropy's key: "
            "it is not genuine, and was not used."
        ),
    }
    return sentences.get(kind, sentences["malformed"])


def remember_failure(reasons: list[str], pasted: str = "") -> None:
    """Keep a failed attempt's reasons for the console rendered in the same request."""
    g.drand_failure = {"reasons": reasons, "pasted": pasted}


def drand_panel(draw: Draw, settings: Settings, now: float | None = None) -> DrandPanel | None:
    """The drand step's help for an announced draw still waiting for its round; None otherwise."""
    if draw.drand_round is None or draw.drand_beacon is not None or draw.status != "announced":
        return None
    now = clock.now().timestamp() if now is None else now
    available_at = round_time(draw.drand_round)
    urls = [round_url(relay, draw.drand_round) for relay in settings.drand_relays]
    failure = g.get("drand_failure") or {}
    return DrandPanel(
        round=draw.drand_round,
        available_at=available_at,
        seconds_left=max(0, int(available_at - now)),
        urls=urls,
        qr=qr_svg(urls[0], gettext("QR code of the round's JSON: %(url)s", url=urls[0])) if urls else None,
        reasons=list(failure.get("reasons", [])),
        pasted=str(failure.get("pasted", "")),
    )
