"""The ticket chart: every entry as a dot on the ticket axis, each group's threshold, the selected highlighted.

A ticket is a 256-bit number; the chart places it at `ticket / 2^256`, between 0 and 1. A member
is selected exactly when its ticket is at or below its group's threshold, so every highlighted
dot sits left of its group's line and every other dot right of it — which anyone can see at a
glance. Up to `MAX_DOTS` members are drawn as dots; a larger group (a population of 100,000)
is drawn as a density strip of `BINS` bars, so the page stays light whatever the size.

Only shapes are in the SVG; titles, tick labels and the legend are HTML around it, so they stay
readable on a phone however much the drawing is scaled down.
"""

import hashlib
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

WIDTH = 1000
HEIGHT = 120
PAD = 10
MAX_DOTS = 2500
MAX_TITLED_DOTS = 600
BINS = 200
_SCALE = float(2**64)
#: How far right of the highest threshold the zoomed view reaches.
ZOOM_FACTOR = 1.6


@dataclass
class ChartGroup:
    """One quota group of one stage, ready to draw."""

    key: str
    size: int
    quota: int
    threshold: float | None
    threshold_hex: str | None
    #: (position on the ticket axis in [0, 1), id, ticket hex, selected)
    members: list[tuple[float, str, str, bool]] = field(repr=False)
    svg: Markup = field(default_factory=Markup)
    zoom_svg: Markup = field(default_factory=Markup)


@dataclass
class ChartStage:
    """The chart of one stage: its groups and the end of its zoomed axis."""

    name: str
    source: str
    groups: list[ChartGroup]
    zoom_end: float
    dense: bool


def position(ticket: bytes) -> float:
    """Where a ticket sits on the axis, `ticket / 2^256` (the first 8 bytes are plenty for drawing)."""
    return int.from_bytes(ticket[:8], "big") / _SCALE


def _x(value: float, end: float) -> float:
    return PAD + (WIDTH - 2 * PAD) * min(value / end, 1.0)


def _jitter(ticket_hex: str) -> float:
    """A steady vertical offset from the ticket's later bytes, so dots at the same x spread out."""
    return PAD + 6 + (HEIGHT - 2 * PAD - 12) * (int(ticket_hex[16:20], 16) / 0xFFFF)


def _dots(members: list[tuple[float, str, str, bool]], end: float, titled: bool) -> str:
    shown = [m for m in members if m[0] <= end]
    parts: list[str] = []
    # Unselected first, so the highlighted dots are drawn on top.
    for where, entry_id, ticket_hex, selected in sorted(shown, key=lambda m: m[3]):
        css = "dot dot-selected" if selected else "dot"
        radius = 9 if selected else 6
        circle = f'<circle class="{css}" cx="{_x(where, end):.1f}" cy="{_jitter(ticket_hex):.1f}" r="{radius}"'
        if titled:
            parts.append(f"{circle}><title>{escape(entry_id)} · {ticket_hex[:16]}…</title></circle>")
        else:
            parts.append(circle + "/>")
    return "".join(parts)


def _density(members: list[tuple[float, str, str, bool]], end: float) -> str:
    counts = [0] * BINS
    chosen = [0] * BINS
    for where, _, _, selected in members:
        if where > end:
            continue
        index = min(BINS - 1, int(where / end * BINS))
        counts[index] += 1
        chosen[index] += selected
    top = max(counts) or 1
    step = (WIDTH - 2 * PAD) / BINS
    usable = HEIGHT - 2 * PAD
    parts: list[str] = []
    for index, count in enumerate(counts):
        if not count:
            continue
        x = PAD + index * step
        height = max(2.0, usable * count / top)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{HEIGHT - PAD - height:.1f}" width="{step:.2f}" height="{height:.1f}"/>'
        )
        if chosen[index]:
            picked = max(2.0, height * chosen[index] / count)
            parts.append(
                f'<rect class="bar bar-selected" x="{x:.1f}" y="{HEIGHT - PAD - picked:.1f}"'
                f' width="{step:.2f}" height="{picked:.1f}"/>'
            )
    return "".join(parts)


def _svg(group: ChartGroup, end: float, label: str) -> Markup:
    shown = sum(1 for m in group.members if m[0] <= end)
    dense = shown > MAX_DOTS
    body = _density(group.members, end) if dense else _dots(group.members, end, shown <= MAX_TITLED_DOTS)
    quarters = [_x(end * q / 4, end) for q in range(5)]
    grid = "".join(f'<line class="grid" x1="{x:.1f}" y1="{PAD}" x2="{x:.1f}" y2="{HEIGHT - PAD}"/>' for x in quarters)
    threshold = ""
    if group.threshold is not None and group.threshold <= end:
        x = _x(group.threshold, end)
        threshold = (
            f'<line class="threshold" x1="{x:.1f}" y1="2" x2="{x:.1f}" y2="{HEIGHT - 2}"/>'
            f'<path class="threshold-mark" d="M{x - 8:.1f},0 L{x + 8:.1f},0 L{x:.1f},10 Z"/>'
        )
    return Markup(  # noqa: S704  (numbers and escaped ids only)
        f'<svg class="ticket-chart{" dense" if dense else ""}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-label="{escape(label)}" focusable="false">'
        f'<rect class="band" x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}"/>'
        f"{grid}{body}{threshold}</svg>"
    )


def stage_members(seed: str, stage_name: str, ids: list[str]) -> dict[str, bytes]:
    """Every member's ticket for one stage (protocol §6), computed as `lottery.draw.ticket` does."""
    prefix = hashlib.sha256(f"{seed} {stage_name} ".encode("ascii"))
    tickets: dict[str, bytes] = {}
    for entry_id in ids:
        hasher = prefix.copy()
        hasher.update(entry_id.encode("ascii"))
        tickets[entry_id] = hasher.digest()
    return tickets


def build_chart(
    population: list[tuple[str, str]],
    announcement: dict[str, Any],
    result: dict[str, Any],
    label: str,
    zoom_label: str,
) -> list[ChartStage]:
    """The chart of every stage of a completed draw.

    `population` is the `(id, stratum)` list of population.tsv; `label` and `zoom_label` are
    the accessible names of the full and zoomed drawings (with `%(group)s` for the group).
    """
    seed = result["seed"]
    from_sets: dict[str, list[tuple[str, str]]] = {"population": population}
    stages: list[ChartStage] = []
    quotas = {stage["name"]: stage for stage in announcement.get("stages", [])}
    for stage in result["stages"]:
        name = stage["name"]
        source = quotas.get(name, {}).get("from", "population")
        members = from_sets.get(source, [])
        tickets = stage_members(seed, name, [entry_id for entry_id, _ in members])
        picked = {pick["id"] for pick in stage["selected"]}
        groups: list[ChartGroup] = []
        for group in stage["groups"]:
            key = group["key"]
            in_group = [(i, s) for i, s in members if key == "*" or s == key]
            threshold_hex = group.get("threshold")
            groups.append(
                ChartGroup(
                    key=key,
                    size=group["size"],
                    quota=group["quota"],
                    threshold=position(bytes.fromhex(threshold_hex)) if threshold_hex else None,
                    threshold_hex=threshold_hex,
                    members=[
                        (position(tickets[i]), i, tickets[i].hex(), i in picked) for i, _ in in_group if i in tickets
                    ],
                )
            )
        highest = max((g.threshold for g in groups if g.threshold is not None), default=0.0)
        zoom_end = min(1.0, max(highest * ZOOM_FACTOR, 1e-12))
        for group in groups:
            group.svg = _svg(group, 1.0, label % {"group": group.key})
            group.zoom_svg = _svg(group, zoom_end, zoom_label % {"group": group.key})
        dense = any(len(g.members) > MAX_DOTS for g in groups)
        stages.append(ChartStage(name=name, source=source, groups=groups, zoom_end=zoom_end, dense=dense))
        from_sets[name] = [(pick["id"], pick["stratum"]) for pick in stage["selected"]]
    return stages
