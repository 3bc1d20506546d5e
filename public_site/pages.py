"""The public pages: home, a draw explained in plain words, the in-browser verifier, how it works, the log.

Every page is public, read-only and cacheable. Personal details appear only for drawn entries and
only as far as the office chose (`Office.name_disclosure`: none, masked 王○明, or full); national
ID numbers are never shown.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from lottery.drand import round_time
from public_site import public_blueprint as bp
from public_site.cache import PAGE_SECONDS, keep_for
from public_site.case_check import case_answer, case_data
from public_site.chart import ChartStage, build_chart
from public_site.documents import published_draw
from service import clock
from service.abandoned import abandoned_draw
from service.access import public
from service.config import settings_of
from service.extensions import db, session
from service.inputs import MAX_ID, query_int
from service.keystore import active_key
from service.labels import event_label, rule_lines, stage_label, stratum_label
from service.models import Declarant, Draw, LogEntry, Office, SigningKey
from service.qr import qr_svg
from service.transparency import latest_checkpoint, log_size
from service.witnesses import confirmations as witness_confirmations

LOG_PAGE_ENTRIES = 50
#: Charts of completed draws never change: keep a few, keyed by the result's digest.
_CHART_CACHE: dict[tuple[str, str], list[ChartStage]] = {}
_CHART_CACHE_SIZE = 16


def percent(basis_points: int | None) -> str:
    """Basis points as a percentage without trailing zeros: 1000 → "10", 250 → "2.5"."""
    if basis_points is None:
        return ""
    text = f"{Decimal(basis_points) / 100:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def mask_name(name: str) -> str:
    """王小明 → 王○明, 王明 → 王○, 歐陽小明 → 歐○○明: the first and last characters stay."""
    name = name.strip()
    if len(name) <= 1:
        return "○"
    if len(name) == 2:
        return name[0] + "○"
    return name[0] + "○" * (len(name) - 2) + name[-1]


def disclosed_people(draw: Draw, ids: list[str]) -> dict[str, dict[str, str]]:
    """Name, agency and title of drawn entries, as far as the office publishes them (never the ID number)."""
    office = db.session.get(Office, draw.office_id)
    if office is None or office.name_disclosure not in ("masked", "full") or not ids:
        return {}
    rows = db.session.execute(
        select(Declarant.case_number, Declarant.name, Declarant.agency, Declarant.title).where(
            Declarant.office_id == draw.office_id,
            Declarant.roc_year == draw.roc_year,
            Declarant.case_number.in_(ids),
        )
    ).all()
    full = office.name_disclosure == "full"
    return {
        case: {"name": name if full else mask_name(name), "agency": agency, "title": title}
        for case, name, agency, title in rows
    }


def stage_summary(announcement: dict[str, Any]) -> list[dict[str, Any]]:
    """Each stage: its name for people, where it draws from, how many, and the quota per group."""
    totals: dict[str, int] = {}
    summary = []
    for stage in announcement.get("stages", []):
        total = sum(stage["quota"].values())
        totals[stage["name"]] = total
        from_size = (
            announcement.get("population", {}).get("size", 0)
            if stage["from"] == "population"
            else totals.get(stage["from"], 0)
        )
        summary.append(
            {
                "name": stage["name"],
                "label": stage_label(stage["name"]),
                "from": stage["from"],
                "from_label": stage_label(stage["from"]) if stage["from"] != "population" else "",
                "from_size": from_size,
                "total": total,
                "groups": [(stratum_label(k), v) for k, v in sorted(stage["quota"].items())],
            }
        )
    return summary


def _utc(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def draw_facts(draw: Draw) -> dict[str, Any]:
    """Everything the draw page and the verifier say about one draw, from its published documents."""
    announcement = json.loads(draw.announcement or b"{}")
    result = json.loads(draw.result) if draw.result else None
    entropy = announcement.get("entropy", {})
    drand = entropy.get("drand")
    population = announcement.get("population", {})
    return {
        "announcement": announcement,
        "result": result,
        "stages": stage_summary(announcement),
        "rule_lines": rule_lines(announcement),
        "strata": [(stratum_label(k), k, v) for k, v in sorted(population.get("strata", {}).items())],
        "population": population,
        "scheduled_at": _utc(announcement.get("scheduled_at")) or draw.scheduled_at,
        "announced_at": _utc(announcement.get("announced_at")),
        "drawn_at": _utc(result.get("drawn_at")) if result else None,
        "dice_count": entropy.get("dice", {}).get("count"),
        "drand_round": drand.get("round") if drand else None,
        "drand_time": datetime.fromtimestamp(round_time(drand["round"]), UTC) if drand else None,
        "drand_chain": drand.get("chain_hash") if drand else None,
        "commitment": entropy.get("commitment"),
        "witnesses": announcement.get("witnesses", []),
        "confirmations": witness_confirmations(session(), draw),
        "legal_rate": percent((announcement.get("rule") or {}).get("rate_basis_points")),
    }


def chart_for(draw: Draw, result: dict[str, Any], announcement: dict[str, Any]) -> list[ChartStage]:
    """The ticket chart of a completed draw (cached: a published result never changes)."""
    cache_key = (draw.draw_id, draw.result_digest or "")
    cached = _CHART_CACHE.get(cache_key)
    if cached is None:
        text = (draw.population_tsv or b"").decode("ascii")
        population = [tuple(line.split("\t", 1)) for line in text.splitlines()]
        cached = build_chart(
            population,  # type: ignore[arg-type]  # split() gives tuple[str, ...]; each line is id<TAB>stratum
            announcement,
            result,
            gettext("Tickets of group %(group)s on the ticket axis, with its threshold"),
            gettext("The lowest tickets of group %(group)s, zoomed in"),
        )
        if len(_CHART_CACHE) >= _CHART_CACHE_SIZE:
            _CHART_CACHE.pop(next(iter(_CHART_CACHE)))
        _CHART_CACHE[cache_key] = cached
    return cached


def office_key_facts() -> dict[str, Any] | None:
    """The office's active verifier key and its key id (the fingerprint people compare)."""
    key = active_key(session())
    if key is None:
        return None
    return {"vkey": key.vkey, "key_id": key.key_id, "created_at": key.created_at, "name": key.vkey.split("+", 1)[0]}


def checkpoint_facts() -> dict[str, Any] | None:
    """The latest signed checkpoint: size, root and the note as served."""
    latest = latest_checkpoint(session())
    if latest is None:
        return None
    return {"size": latest.size, "root": bytes(latest.root).hex(), "note": latest.note, "at": latest.created_at}


def page_url(endpoint: str, **values: Any) -> str:
    """The absolute address of a page (what a QR code points at)."""
    return url_for(endpoint, _external=True, **values)


@bp.route("/")
@public
def home() -> Any:
    """Upcoming and recent draws, the office key's fingerprint and the latest checkpoint."""
    draws = db.session.scalars(
        select(Draw).where(Draw.status != "draft").order_by(Draw.scheduled_at.desc()).limit(50)
    ).all()
    upcoming = sorted((d for d in draws if d.status == "announced"), key=lambda d: d.scheduled_at)
    recent = [d for d in draws if d.status != "announced"]
    return render_template(
        "public/home.html",
        upcoming=upcoming,
        recent=recent,
        key=office_key_facts(),
        checkpoint=checkpoint_facts(),
    )


@bp.route("/draws/<draw_id:draw_id>")
@public
def draw_page(draw_id: str) -> Any:
    """One draw explained in plain words; after the draw, its selections and ticket chart."""
    draw = published_draw(draw_id)
    wanted = request.args.get("case", "")
    if not wanted:  # an answer to one visitor's case number is not worth keeping
        keep_for(PAGE_SECONDS)
    facts = draw_facts(draw)
    result = facts["result"]
    people: dict[str, dict[str, str]] = {}
    chart: list[ChartStage] = []
    if result is not None:
        people = disclosed_people(draw, [s["id"] for stage in result["stages"] for s in stage["selected"]])
        chart = chart_for(draw, result, facts["announcement"])
    url = page_url("public.draw_page", draw_id=draw.draw_id)
    abandoned = abandoned_draw(session(), draw, clock.now()) if draw.status == "abandoned" else None
    return render_template(
        "public/draw.html",
        abandoned=abandoned,
        draw=draw,
        facts=facts,
        people=people,
        chart=chart,
        stage_label=stage_label,
        stratum_label=stratum_label,
        page_address=url,
        qr=qr_svg(url, gettext("QR code of this page: %(url)s", url=url)),
        now=datetime.now(UTC),
        case_data=case_data(draw, facts["population"].get("size", 0), result, stage_label)
        if draw.status in ("announced", "completed")
        else None,
        case_answer=case_answer(draw, result, wanted) if wanted.strip() else None,
    )


@bp.route("/draws/<draw_id:draw_id>/verify")
@public
def verify_page(draw_id: str) -> Any:
    """Verification in the citizen's own browser: the bundle is recomputed in JavaScript.

    The witnesses the office submits to (`SUNSHINE_WITNESSES`) are the ones the page checks
    cosignatures against, a majority of them being the quorum; the page lists their keys, so a
    citizen who trusts other witnesses runs `python -m lottery verify --witness … --quorum K`.
    """
    draw = published_draw(draw_id)
    keep_for(PAGE_SECONDS)
    keys = db.session.scalars(select(SigningKey.vkey).order_by(SigningKey.created_at)).all()
    witnesses = [endpoint.verifier for endpoint in settings_of(current_app).witnesses]
    return render_template(
        "public/verify.html",
        draw=draw,
        facts=draw_facts(draw),
        published_keys="\n".join(keys),
        witnesses=witnesses,
        witness_vkeys=[witness.vkey for witness in witnesses],
        witness_quorum=len(witnesses) // 2 + 1 if witnesses else 0,
        stage_label=stage_label,
    )


@bp.route("/how-it-works")
@public
def how_it_works() -> Any:
    """Why a draw cannot be rigged, and how to check one yourself in three steps."""
    example = db.session.scalar(
        select(Draw).where(Draw.status == "completed").order_by(Draw.scheduled_at.desc()).limit(1)
    )
    return render_template("public/how_it_works.html", example=example)


@bp.route("/log")
@public
def log_page() -> Any:
    """The transparency log: the latest checkpoint, entries a page at a time (newest first, `?before=N`
    for the page of entries below index N) and how to watch it as a witness."""
    size = log_size(session())
    before = min(query_int("before", size, low=0, high=MAX_ID) or 0, size)
    first = max(0, before - LOG_PAGE_ENTRIES)
    rows = db.session.scalars(
        select(LogEntry).where(LogEntry.index >= first, LogEntry.index < before).order_by(LogEntry.index.desc())
    ).all()
    entries = []
    for row in rows:
        event = json.loads(row.entry)
        entries.append(
            {
                "index": row.index,
                "type": event.get("type", ""),
                "label": event_label(event.get("type", "")),
                "event": event,
                "text": row.entry,
            }
        )
    published = set(db.session.scalars(select(Draw.draw_id).where(Draw.status != "draft")))
    return render_template(
        "public/log.html",
        checkpoint=checkpoint_facts(),
        key=office_key_facts(),
        entries=entries,
        size=size,
        older=first if first > 0 else None,
        newer=min(before + LOG_PAGE_ENTRIES, size) if before < size else None,
        published=published,
        base=request.url_root.rstrip("/"),
    )
