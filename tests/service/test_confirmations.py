"""Announcing and abandoning cannot be undone: the server takes either step only with the draw's
identifier typed back, and says plainly what is missing."""

import re

import pytest
from flask import Flask

from service.clock import fix_clock
from tests.builders import ANNOUNCED, AuthActions, get_draw, prepare_draft

DRAW_ID = "kinmen-114-annual"
BASE = f"/operator/draws/{DRAW_ID}"


@pytest.fixture
def operator(app: Flask, offices: dict[str, int]) -> AuthActions:
    client = app.test_client()
    actions = AuthActions(client)
    actions.login("kinmen-operator")
    return actions


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (None, "Type the draw&#39;s identifier to confirm."),
        ("", "Type the draw&#39;s identifier to confirm."),
        ("kinmen-114", f"type {DRAW_ID} to confirm"),
        (DRAW_ID.upper(), f"type {DRAW_ID} to confirm"),
    ],
)
def test_announce_needs_the_identifier_typed_back(
    app: Flask, offices: dict[str, int], operator: AuthActions, typed: str | None, message: str
) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    fix_clock(app, ANNOUNCED)
    data = {} if typed is None else {"confirm_draw_id": typed}
    response = operator.client.post(f"{BASE}/announce", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith(BASE)
    assert get_draw(app, pk).status == "draft"
    page = operator.client.get(BASE).get_data(as_text=True)
    assert message in page
    assert 'name="confirm_draw_id"' in page


def test_announce_with_the_identifier(app: Flask, offices: dict[str, int], operator: AuthActions) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    fix_clock(app, ANNOUNCED)
    response = operator.client.post(f"{BASE}/announce", data={"confirm_draw_id": f"  {DRAW_ID} "})
    assert response.status_code == 303
    assert get_draw(app, pk).status == "announced"


def test_abandon_needs_the_identifier_typed_back(app: Flask, offices: dict[str, int], operator: AuthActions) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    fix_clock(app, ANNOUNCED)
    operator.client.post(f"{BASE}/announce", data={"confirm_draw_id": DRAW_ID})
    reason = "證人未能到場，改期重新公告"
    refused = operator.client.post(f"{BASE}/abandon", data={"reason": reason})
    assert refused.status_code == 303 and refused.headers["Location"].endswith(f"{BASE}/console")
    assert get_draw(app, pk).status == "announced"
    console = operator.client.get(f"{BASE}/console").get_data(as_text=True)
    assert "Type the draw&#39;s identifier to confirm." in console and 'id="abandon-confirm"' in console
    operator.client.post(f"{BASE}/abandon", data={"reason": reason, "confirm_draw_id": "kinmen-115-annual"})
    assert get_draw(app, pk).status == "announced"
    operator.client.post(f"{BASE}/abandon", data={"reason": reason, "confirm_draw_id": DRAW_ID})
    draw = get_draw(app, pk)
    assert draw.status == "abandoned" and draw.abandoned_reason == reason


def test_the_confirmation_does_not_replace_the_csrf_token(
    app: Flask, offices: dict[str, int], operator: AuthActions
) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    fix_clock(app, ANNOUNCED)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert operator.client.post(f"{BASE}/announce", data={"confirm_draw_id": DRAW_ID}).status_code == 400
        assert get_draw(app, pk).status == "draft"
        page = operator.client.get(BASE).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
            r'name="csrf_token" value="([^"]+)"', page
        )
        assert token is not None
        data = {"csrf_token": token.group(1), "confirm_draw_id": DRAW_ID}
        assert operator.client.post(f"{BASE}/announce", data=data).status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert get_draw(app, pk).status == "announced"


def test_the_zh_tw_message(app: Flask, offices: dict[str, int], operator: AuthActions) -> None:
    prepare_draft(app, offices["kinmen"], "kinmen-operator")
    fix_clock(app, ANNOUNCED)
    operator.client.post(f"{BASE}/announce?lang=zh", data={"confirm_draw_id": "wrong"})
    page = operator.client.get(f"{BASE}?lang=zh").get_data(as_text=True)
    assert f"輸入的識別碼與本次抽籤不符：請輸入 {DRAW_ID} 以確認。" in page
    assert f"請輸入本次抽籤的識別碼以確認：{DRAW_ID}" in page
