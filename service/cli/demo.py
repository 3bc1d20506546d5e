"""`flask demo …`: load the demo year, serve its witnesses, print its sign-in codes and logins (development only)."""

import os

import click
from flask import current_app
from flask.cli import AppGroup

from service.config import settings_of
from service.extensions import db, session


@click.group(cls=AppGroup)
def demo() -> None:
    """The demo year (development only)."""


@demo.command("load")
def load_command() -> None:
    """Load the demo office, users and year (idempotent)."""
    from service.demo import load_demo

    if settings_of(current_app).environment == "production":
        raise click.ClickException("the demo is not loaded in production")
    current_app.config["SUNSHINE_INLINE_JOBS"] = True
    load_demo(session(), settings_of(current_app))
    db.session.commit()
    click.echo("demo year loaded")
    from service.demo import DEMO_DRAW_ID, DEMO_SECRET_AT
    from service.demo_witnesses import witness_demo_draw

    outcomes = witness_demo_draw(session(), settings_of(current_app), DEMO_DRAW_ID, DEMO_SECRET_AT)
    for outcome in outcomes:
        click.echo(
            f"demo witness {outcome.witness}: checkpoint {outcome.size} {outcome.result} {outcome.detail}".rstrip()
        )


@demo.command("witnesses")
def witnesses_command() -> None:
    """Print the shell lines that serve the demo's two witnesses on 127.0.0.1:8701 and :8702 and
    name them in SUNSHINE_WITNESSES (`make run` runs them; development only)."""
    from service.demo_witnesses import serve_commands
    from service.keystore import active_key

    settings = settings_of(current_app)
    key = active_key(session())
    if settings.environment == "production" or key is None:
        raise click.ClickException("the demo witnesses serve only a loaded demo, never production")
    click.echo(serve_commands(settings, key.vkey))


@demo.command("code")
@click.argument("username")
def code_command(username: str) -> None:
    """Print a demo user's current two-step sign-in code (instead of a phone app; demo only)."""
    import time

    import pyotp
    from sqlalchemy import select

    from service.demo import DEMO_USERS, DEMO_WITNESS_USERS, SECOND_OFFICE_USERS
    from service.models import User
    from service.signin import totp_secret

    demo_names = {u[0] for u in (*DEMO_USERS, *DEMO_WITNESS_USERS, *SECOND_OFFICE_USERS)}
    if settings_of(current_app).environment == "production" or username not in demo_names:
        raise click.ClickException("codes are printed only for the demo accounts, outside production")
    user = db.session.scalar(select(User).where(User.username == username))
    secret = totp_secret(user, settings_of(current_app).secret_key) if user else None
    if user is None or secret is None:
        raise click.ClickException("sign in with the password first: the enrolment page creates the secret")
    totp = pyotp.TOTP(secret)
    step = max(int(time.time()) // totp.interval, (user.totp_last_step or 0) + 1)
    click.echo(totp.generate_otp(step))


def served_address(environ: dict[str, str] | None = None) -> str:
    """Where gunicorn serves under `make run`: gunicorn.conf.py's `GUNICORN_BIND` (default
    127.0.0.1:8000), or a `--bind` in `GUNICORN_CMD_ARGS`, which gunicorn lets override it."""
    import shlex

    env = os.environ if environ is None else environ
    bind = env.get("GUNICORN_BIND", "127.0.0.1:8000")
    words = shlex.split(env.get("GUNICORN_CMD_ARGS", ""))
    for number, word in enumerate(words):
        if word in ("-b", "--bind") and number + 1 < len(words):
            bind = words[number + 1]
        elif word.startswith("--bind="):
            bind = word.partition("=")[2]
    bind = bind.split(",")[0].strip()
    if bind.startswith(("unix:", "fd://")):
        return bind
    host, _, port = bind.rpartition(":") if bind.rpartition(":")[2].isdigit() else (bind, ":", "8000")
    host = host or "0.0.0.0"  # noqa: S104  (what gunicorn does with ":8000"; only printed)
    address = f"http://{host}:{port}/"
    if host in ("0.0.0.0", "[::]"):  # noqa: S104  (every interface: say how to reach it from here)
        return f"{address} (every interface; on this machine http://127.0.0.1:{port}/)"
    return address


@demo.command("logins")
def logins_command() -> None:
    """Print how to sign in to the demo."""
    from service.demo import DEMO_USERS, DEMO_WITNESS_USERS, SECOND_OFFICE_USERS

    click.echo("")
    click.echo(f"Sunshine Draw 陽光抽籤 — {served_address()}  (operator pages: /operator/)")
    click.echo("Demo logins 示範帳號:")
    for username, _display, role, password in DEMO_USERS:
        click.echo(f"  {role:9} username {username:9} password {password}   (金門縣政府政風處, the demo year)")
    for username, display, role, password in DEMO_WITNESS_USERS:
        click.echo(f"  {role:9} username {username:9} password {password}   ({display}, /witness/ on a phone)")
    for username, _display, role, password in SECOND_OFFICE_USERS:
        click.echo(f"  {role:9} username {username:9} password {password}   (澎湖縣政府政風處, empty: try an import)")
    click.echo("Every account then gives a 6-digit code: scan the QR code shown with an authenticator")
    click.echo("app, or run   .venv/bin/flask demo code operator   (or admin, reviewer, witness) in another terminal.")
    click.echo("每個帳號登入後都需輸入 6 位數驗證碼：")
    click.echo("以驗證器 App 掃描畫面上的 QR code，或執行上列指令取得。")
    click.echo("")
