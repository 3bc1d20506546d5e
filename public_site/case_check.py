""" "Was my case number drawn?" at the top of the draw page.

The answer is public (the result lists every selected case number, `population.tsv` every entry),
so the page carries what it needs as JSON in a data attribute and `site.js` answers in the visitor's
browser without a round trip. Without script the form asks the server (`?case=`), which gives
the same answer in the same words. Populations too large to embed are answered by the server.
"""

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lottery.population import parse_population
from service.models import Draw

#: Above this many entries the page does not carry the population (about 10 bytes an entry);
#: a case number that was not selected is then answered by the server.
MAX_EMBEDDED = 5000
MAX_CASE_LENGTH = 64


def clean_case(text: str) -> str:
    """What the visitor typed, as a case number: full-width to half-width, spaces around removed."""
    return unicodedata.normalize("NFKC", text).strip()[:MAX_CASE_LENGTH]


def _population_ids(draw: Draw) -> list[str]:
    return [raw.decode("ascii") for raw in parse_population(bytes(draw.population_tsv or b"")).ids]


def _in_population(draw: Draw, case: str) -> bool:
    """Whether `case` is an entry of the frozen population (one scan of population.tsv's bytes)."""
    data = bytes(draw.population_tsv or b"")
    needle = case.encode("utf-8") + b"\t"
    return data.startswith(needle) or b"\n" + needle in data


def case_data(draw: Draw, size: int, result: dict[str, Any] | None, stage_label: Callable[[str], str]) -> str:
    """The JSON the page's script answers from: each stage's selected case numbers with their rank,
    and the population's case numbers when it is small enough to carry (`size`, from the
    announcement, decides without reading the population)."""
    population = _population_ids(draw) if size <= MAX_EMBEDDED else None
    data = {
        "stages": [
            {
                "name": stage["name"],
                "label": stage_label(stage["name"]),
                "selected": {entry["id"]: entry["rank"] for entry in stage["selected"]},
            }
            for stage in (result or {}).get("stages", [])
        ],
        "population": population,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))  # escaped by the template, as an attribute


@dataclass(frozen=True)
class CaseLine:
    """One line of the answer: which message, for which stage, with which rank."""

    key: str
    stage: str = ""
    rank: int = 0


@dataclass(frozen=True)
class CaseAnswer:
    """The server's answer to `?case=`."""

    case: str
    found: bool
    selected: bool
    lines: tuple[CaseLine, ...]


def case_answer(draw: Draw, result: dict[str, Any] | None, wanted: str) -> CaseAnswer:
    """Whether `wanted` is in the draw's population and, after the draw, which stages selected it."""
    case = clean_case(wanted)
    if not case or not _in_population(draw, case):
        return CaseAnswer(case, found=False, selected=False, lines=(CaseLine("unknown"),))
    if result is None:
        return CaseAnswer(case, found=True, selected=False, lines=(CaseLine("listed"),))
    lines: list[CaseLine] = []
    picked = False
    for number, stage in enumerate(result.get("stages", [])):
        ranks = {entry["id"]: entry["rank"] for entry in stage["selected"]}
        if case in ranks:
            picked = True
            lines.append(CaseLine("selected", stage["name"], ranks[case]))
        elif number == 0 or picked:  # a later stage draws only from those selected before
            lines.append(CaseLine("not-selected", stage["name"]))
    return CaseAnswer(case, found=True, selected=picked, lines=tuple(lines))
