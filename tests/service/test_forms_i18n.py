"""WTForms' own validation messages follow the page's language, in Taiwan usage (此欄位為必填。)."""

from flask import Flask
from flask.testing import FlaskClient

from tests.builders import AuthActions


def test_required_field_messages_in_traditional_chinese_and_english(
    app: Flask, offices: dict[str, int], auth: AuthActions, client: FlaskClient
) -> None:
    auth.login("kinmen-operator")
    chinese = client.post("/operator/declarations?lang=zh", data={"roc_year": ""}).get_data(as_text=True)
    assert "该字段" not in chinese and "此欄位是必需的" not in chinese and "此欄位為必填。" in chinese
    english = client.post("/operator/declarations?lang=en", data={"roc_year": ""}).get_data(as_text=True)
    assert "This field is required." in english
