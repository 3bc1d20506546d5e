""" "Was my case number drawn?" at the top of the draw page: the page carries the public answer for
the browser, and the server gives the same answer without script (`?case=`)."""

import html
import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from lottery.population import parse_population
from public_site.cache import response_cache
from public_site.case_check import case_answer
from tests.public_site.world import draw_row

PAGE = "/draws/kinmen-114-annual"


def _ids(app: Flask) -> tuple[list[str], str, str]:
    draw = draw_row(app, "kinmen-114-annual")
    result = json.loads(draw.result or b"")
    review = [entry["id"] for entry in result["stages"][0]["selected"]]
    population = [raw.decode() for raw in parse_population(draw.population_tsv or b"").ids]
    undrawn = next(case for case in population if case not in review)
    return review, result["stages"][1]["selected"][0]["id"], undrawn


def test_the_box_comes_before_everything_else_and_carries_the_answer(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    page = client.get(PAGE, query_string={"lang": "zh"}).get_data(as_text=True)
    assert "我的案號是否被抽中？" in page
    assert page.index('id="case-check"') < page.index('class="facts"') < page.index('id="result-heading"')
    start = page.index('data-case="') + len('data-case="')
    data = json.loads(html.unescape(page[start : page.index('"', start)]))
    review, comparison, undrawn = _ids(app)
    assert list(data["stages"][0]["selected"]) == review
    assert data["stages"][0]["selected"][review[0]] == 1 and data["stages"][0]["label"] == "實質審查"
    assert list(data["stages"][1]["selected"]) == [comparison]
    assert undrawn in data["population"] and len(data["population"]) == 244


def test_without_script_the_server_answers(app: Flask, client: FlaskClient, completed: dict[str, Any]) -> None:
    review, comparison, undrawn = _ids(app)
    drawn = client.get(PAGE, query_string={"case": f" {review[2]} "}).get_data(as_text=True)
    assert f"{review[2]} was selected for" in drawn and "(number 3 in ticket order)" in drawn
    both = client.get(PAGE, query_string={"case": comparison}).get_data(as_text=True)
    assert both.count(f"{comparison} was selected for") == 2
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in review[0])  # typed with a full-width keyboard
    assert f"{review[0]} was selected for" in client.get(PAGE, query_string={"case": fullwidth}).get_data(as_text=True)
    missed = client.get(PAGE, query_string={"case": undrawn}).get_data(as_text=True)
    assert f"{undrawn} was not selected for" in missed and f"{undrawn} was selected for" not in missed
    unknown = client.get(PAGE, query_string={"case": "<b>999-9999"}).get_data(as_text=True)
    assert "&lt;b&gt;999-9999 is not in this draw's list" in unknown and "<b>999" not in unknown


def test_the_answer_is_not_kept_in_the_response_cache(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    """One visitor's case number is not worth memory a crowd's page could use."""
    client.get(PAGE, query_string={"case": "114-0001"})
    client.get(PAGE)
    cached = response_cache(app)
    assert cached is not None
    kept = {(key[2], key[3]) for key in cached.kept}
    assert (PAGE, "") in kept and (PAGE, "case=114-0001") not in kept


def test_an_announced_draw_answers_whether_a_number_is_in_its_list(
    app: Flask, client: FlaskClient, completed: dict[str, Any]
) -> None:
    review, _, _ = _ids(app)
    draw = draw_row(app, "kinmen-114-annual")
    answer = case_answer(draw, None, review[0])
    assert answer.found and [line.key for line in answer.lines] == ["listed"]
    assert [line.key for line in case_answer(draw, None, "114-99999").lines] == ["unknown"]
