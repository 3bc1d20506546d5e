"""The reviewers' workspace: who sees and does what, across offices and roles."""

import pytest
from flask import Flask

from service.extensions import db
from service.models import ReviewCase
from tests.builders import AuthActions, case_state, reviewed_draw, user, walk


def _client(app: Flask, username: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert AuthActions(client).login(username).status_code == 303
    return client


def _step(state: str) -> dict[str, str]:
    return {"to_state": state, "note": "checked", "due_on": "2099-01-31"}


def test_a_reviewer_lands_on_my_cases_with_due_and_overdue(app: Flask, offices: dict[str, int]) -> None:
    cases = reviewed_draw(app, offices)
    client = app.test_client()
    response = AuthActions(client).login("kinmen-reviewer")
    assert response.headers["Location"].endswith("/reviews/")
    page = client.get("/reviews/").get_data(as_text=True)
    assert page.count('href="/reviews/cases/') >= 25
    assert "Overdue" in page and "Due within a week" in page
    with app.app_context():
        case_numbers = {db.session.get(ReviewCase, cid).case_number for cid in cases["comparison"]}
    filtered = client.get("/reviews/?stage=comparison").get_data(as_text=True)
    assert all(number in filtered for number in case_numbers)
    # listed under "Overdue" too: opened when the draw completed (2023), due 30 days later
    assert filtered.count('href="/reviews/cases/') == 2
    walk(app, cases["review"][0], ("querying",))
    by_state = client.get("/reviews/?state=querying").get_data(as_text=True)
    assert by_state.count('href="/reviews/cases/') == 1
    with app.app_context():
        agency = db.session.get(ReviewCase, cases["review"][0]).declarant.agency
    by_agency = client.get("/reviews/", query_string={"agency": agency}).get_data(as_text=True)
    assert f"/reviews/cases/{cases['review'][0]}" in by_agency
    assert client.get("/reviews/?scope=mine").status_code == 200
    other = _client(app, "kinmen-reviewer2").get("/reviews/").get_data(as_text=True)
    assert 'href="/reviews/cases/' not in other  # nothing assigned to them
    assert (
        _client(app, "kinmen-reviewer2")
        .get("/reviews/?scope=all")
        .get_data(as_text=True)
        .count('href="/reviews/cases/')
        >= 25
    )


def test_the_case_page_masks_the_national_id(app: Flask, offices: dict[str, int]) -> None:
    case_id = reviewed_draw(app, offices)["review"][0]
    with app.app_context():
        national_id = db.session.get(ReviewCase, case_id).declarant.national_id
    page = _client(app, "kinmen-reviewer").get(f"/reviews/cases/{case_id}").get_data(as_text=True)
    assert national_id not in page
    assert f"{national_id[:3]}*****{national_id[8:]}" in page
    assert "querying data" in page  # the next step is offered as a form
    assert 'name="to_state" value="querying"' in page


@pytest.mark.parametrize("username", ["penghu-reviewer", "penghu-admin", "penghu-operator"])
def test_another_office_case_is_a_404(app: Flask, offices: dict[str, int], username: str) -> None:
    case_id = reviewed_draw(app, offices)["review"][0]
    client = _client(app, username)
    assert client.get(f"/reviews/cases/{case_id}").status_code == 404
    assert client.get(f"/api/v1/reviews/cases/{case_id}").status_code == 404
    method_paths = [("steps", _step("querying")), ("corrections", {"event_id": "1", "note": "x"})]
    if username == "penghu-reviewer":
        for path, data in method_paths:
            assert client.post(f"/reviews/cases/{case_id}/{path}", data=data).status_code == 404
    if username == "penghu-admin":
        assert client.post(f"/reviews/cases/{case_id}/assign", data={"assignee": ""}).status_code == 404
        assert client.post("/reviews/draws/kinmen-114-annual/open").status_code == 404
    assert case_state(app, case_id) == "drawn"


def test_roles_reviewers_act_admins_assign_operators_view(app: Flask, offices: dict[str, int]) -> None:
    cases = reviewed_draw(app, offices)
    case_id = cases["review"][0]
    operator = _client(app, "kinmen-operator")
    assert operator.get(f"/reviews/cases/{case_id}").status_code == 200
    assert operator.get("/reviews/").status_code == 200
    assert operator.post(f"/reviews/cases/{case_id}/steps", data=_step("querying")).status_code == 403
    assert operator.get("/reviews/assign").status_code == 403
    admin = _client(app, "kinmen-admin")
    assert admin.post(f"/reviews/cases/{case_id}/steps", data=_step("querying")).status_code == 403
    other_reviewer = _client(app, "kinmen-reviewer2")
    assert other_reviewer.post(f"/reviews/cases/{case_id}/steps", data=_step("querying")).status_code == 403
    assert other_reviewer.get("/reviews/assign").status_code == 403
    assert case_state(app, case_id) == "drawn"
    reviewer = _client(app, "kinmen-reviewer")
    assert reviewer.post(f"/reviews/cases/{case_id}/steps", data=_step("querying")).status_code == 303
    assert case_state(app, case_id) == "querying"
    refused = reviewer.post(f"/reviews/cases/{case_id}/steps", data=_step("closed"), follow_redirects=True)
    assert "Allowed next: under review (under_review)" in refused.get_data(as_text=True)
    assert case_state(app, case_id) == "querying"

    # the admin reassigns from the assignment page, with the even split pre-filled
    with app.app_context():
        second = user("kinmen-reviewer2").id
    page = admin.get("/reviews/assign").get_data(as_text=True)
    assert "Open cases" in page
    assert admin.post("/reviews/assign", data={f"case-{case_id}": str(second), "note": "leave"}).status_code == 303
    with app.app_context():
        assert db.session.get(ReviewCase, case_id).assignee_id == second
    assert reviewer.post(f"/reviews/cases/{case_id}/steps", data=_step("under_review")).status_code == 403
    assert other_reviewer.post(f"/reviews/cases/{case_id}/steps", data=_step("under_review")).status_code == 303
    assert admin.post(f"/reviews/cases/{case_id}/assign", data={"assignee": ""}).status_code == 303
    with app.app_context():
        assert db.session.get(ReviewCase, case_id).assignee_id is None
    with app.app_context():
        foreign = user("penghu-reviewer").id
    assert admin.post("/reviews/assign", data={f"case-{case_id}": str(foreign)}).status_code == 400


def test_the_admin_opens_draw_cases_and_case_based_checks(app: Flask, offices: dict[str, int]) -> None:
    from tests.builders import completed_draw

    completed_draw(app, offices["kinmen"])
    admin = _client(app, "kinmen-admin")
    page = admin.get("/reviews/assign").get_data(as_text=True)
    assert "Open the review cases" not in page  # they opened when the draw completed
    assert admin.post("/reviews/draws/kinmen-114-annual/open", data={"due_on": "2099-01-01"}).status_code == 303
    with app.app_context():
        assert db.session.query(ReviewCase).count() == 25  # none twice
    response = admin.post(
        "/reviews/case-based/new",
        data={"roc_year": "114", "case_number": "114-0002", "stage": "review", "note": "complaint received"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        based = db.session.query(ReviewCase).filter_by(origin="case-based").all()
        assert len(based) == 1 and based[0].log_draw_id == "case-based.kinmen.114"
    bad = admin.post("/reviews/case-based/new", data={"roc_year": "114", "case_number": "nope", "note": "x y"})
    assert bad.status_code == 400


def test_the_correction_form_offers_the_latest_entry_first(app: Flask, offices: dict[str, int]) -> None:
    """A correction is nearly always of the entry just written: it is the form's default choice."""
    case_id = reviewed_draw(app, offices)["review"][0]
    walk(app, case_id, ("querying", "under_review"))
    page = _client(app, "kinmen-reviewer").get(f"/reviews/cases/{case_id}").get_data(as_text=True)
    choices = page.split('<select id="c-event" name="event_id">', 1)[1].split("</select>", 1)[0]
    sequences = [int(option.split("#", 1)[1].split(" ", 1)[0]) for option in choices.split("<option")[1:]]
    assert len(sequences) == 3 and sequences == sorted(sequences, reverse=True)
