"""`make run` prints the address gunicorn really serves (gunicorn.conf.py reads GUNICORN_BIND)."""

import pytest
from flask import Flask

from service.cli import served_address


@pytest.mark.parametrize(
    ("environ", "printed"),
    [
        ({}, "http://127.0.0.1:8000/"),
        ({"GUNICORN_BIND": "10.1.2.3:9000"}, "http://10.1.2.3:9000/"),
        ({"GUNICORN_BIND": "localhost"}, "http://localhost:8000/"),
        ({"GUNICORN_BIND": "[::1]:8001"}, "http://[::1]:8001/"),
        (
            {"GUNICORN_BIND": "0.0.0.0:8080"},
            "http://0.0.0.0:8080/ (every interface; on this machine http://127.0.0.1:8080/)",
        ),
        ({"GUNICORN_BIND": "unix:/run/sunshine.sock"}, "unix:/run/sunshine.sock"),
        (
            {"GUNICORN_BIND": "127.0.0.1:8000", "GUNICORN_CMD_ARGS": "--workers 2 -b 127.0.0.1:9999"},
            "http://127.0.0.1:9999/",
        ),
        ({"GUNICORN_CMD_ARGS": "--bind=127.0.0.2:7000"}, "http://127.0.0.2:7000/"),
    ],
)
def test_the_address_is_the_bind(environ: dict[str, str], printed: str) -> None:
    assert served_address(environ) == printed


def test_demo_logins_prints_it(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:8123")
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    output = app.test_cli_runner().invoke(args=["demo", "logins"]).output
    assert "http://127.0.0.1:8123/" in output and "8000" not in output
