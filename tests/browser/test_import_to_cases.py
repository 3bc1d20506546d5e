"""From an office's own export to review cases: an operator imports a Big5 list written the way
offices write it (就到/卸職/代理, no 年度 column), announces and runs the draw on the console, and
the reviewers find the cases opened and given out evenly — no admin in between."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from service.accounts import get_or_create_office
from service.draws import save_draft
from service.extensions import db
from service.models import Declarant, Draw, Office, ReviewCase, User
from tests.browser.server import Console, LiveServer, clock_at, start_server
from tests.builders import ANNOUNCED, BEACON_AT, DICE, DICE_AT, add_witnesses, draw_setup, make_user
from tests.public_site.world import WITNESSES, beacon_json
from tests.service.test_import_as_offices_export import person, rows_csv

DRAW = "penghu-114-annual"
KINDS = ("定期申報", "定期", "就到", "卸職", "代理", "就到申報", "卸職申報", "代理申報")


@pytest.fixture(scope="module")
def penghu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with a second office that has an operator, two reviewers, its key and witnesses — and
    no admin, no declarations."""
    live = start_server(tmp_path_factory.mktemp("import-to-cases"))
    with live.app.app_context():
        office = get_or_create_office(db.session, "penghu", "澎湖縣政府政風處")
        for username, role in (("penghu-operator", "operator"), ("penghu-r1", "reviewer"), ("penghu-r2", "reviewer")):
            make_user(office, username, role)
        add_witnesses(office)  # the deployment's signing key exists already (the server's own draws)
        db.session.commit()
    yield live
    live.stop()


def _big5_list(folder: Path) -> Path:
    path = folder / "114年度申報名冊.csv"
    path.write_bytes(rows_csv([person(n, KINDS[n % len(KINDS)]) for n in range(1, 81)]))
    return path


def test_an_office_export_becomes_assigned_review_cases(browser: Browser, penghu: LiveServer, tmp_path: Path) -> None:
    # Given the operator on the import page, with the office's Big5 export (no 年度 column)
    page = browser.new_page()
    console = Console(page, penghu.url, DRAW, penghu.app)
    console.login("penghu-operator")
    page.goto(f"{penghu.url}/operator/declarations?lang=zh")
    expect(page.locator("#accepted-types")).to_contain_text("就到")
    page.fill("#roc_year", "114")
    page.set_input_files("#file", str(_big5_list(tmp_path)))

    # When the file is checked and imported
    with page.expect_navigation():
        page.click("form button[type=submit]")
    import_button = page.locator('form[action$="/import"] button')
    import_button.wait_for(timeout=30_000)
    expect(page.locator("h1")).to_contain_text("114")
    with page.expect_navigation():
        import_button.click()
    expect(page.locator('a[href$="/operator/years/114"]')).to_be_visible(timeout=30_000)

    # Then the population holds every row as the canonical types, in year 114
    with penghu.app.app_context():
        office = db.session.scalars(select(Office).where(Office.slug == "penghu")).one()
        imported = db.session.scalars(select(Declarant).where(Declarant.office_id == office.id)).all()
        assert len(imported) == 80 and {d.roc_year for d in imported} == {114}
        assert {d.declaration_type for d in imported} == {"regular", "taking-office", "leaving-office", "acting"}
        operator = db.session.scalars(select(User).where(User.username == "penghu-operator")).one()
        draft = save_draft(
            db.session,
            office=office,
            user=operator,
            setup=draw_setup(DRAW, title="114年度財產申報實質審查抽籤", witnesses=WITNESSES),
            now=ANNOUNCED,
        )
        db.session.commit()
        assert draft.status == "draft"

    # When the operator announces the draw and runs it live on the console
    with clock_at(penghu.app, ANNOUNCED):
        console.announce()
    with clock_at(penghu.app, DICE_AT):
        console.open()
        console.dice(DICE)
        console.reveal_secret()
    with clock_at(penghu.app, BEACON_AT):
        console.paste_drand(beacon_json())
        page.goto(f"{penghu.url}/operator/draws/{DRAW}/console?lang=zh")
        expect(page.locator("#review-cases")).to_contain_text("抽籤完成時已開立")

    with penghu.app.app_context():
        cases = db.session.scalars(
            select(ReviewCase).join(Draw, ReviewCase.draw_pk == Draw.id).where(Draw.draw_id == DRAW)
        ).all()
        selected = len(cases)
        by_reviewer = {
            name: sum(1 for c in cases if c.assignee is not None and c.assignee.username == name)
            for name in ("penghu-r1", "penghu-r2")
        }
    assert selected >= 8
    assert sum(by_reviewer.values()) == selected and abs(by_reviewer["penghu-r1"] - by_reviewer["penghu-r2"]) <= 1
    page.close()

    # Then each reviewer signs in and finds their cases waiting, with nobody having opened them by hand
    for name, expected in by_reviewer.items():
        reviewer_page = browser.new_page()
        reviewer = Console(reviewer_page, penghu.url, DRAW, penghu.app)
        reviewer.login(name)
        reviewer_page.goto(f"{penghu.url}/reviews/?scope=mine")
        listing = reviewer_page.locator("section.card", has=reviewer_page.locator("form.filters"))
        rows = listing.locator('a[href*="/reviews/cases/"]')
        expect(rows).to_have_count(expected)
        assert "114-" in rows.first.inner_text()
        reviewer_page.close()
