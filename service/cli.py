"""`flask` commands: offices, users and the demo year."""

import getpass
import os

import click
from flask import Flask, current_app

from service.accounts import AccountError, create_user, get_or_create_office
from service.extensions import db


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(keys)
    app.cli.add_command(audit)


@click.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.option("--office", "office_slug", required=True, help="office slug, e.g. kinmen")
@click.option("--office-name", default="", help="the office's name when it is created now")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--role", type=click.Choice(["admin", "operator", "reviewer"]), required=True)
def create_user_command(office_slug: str, office_name: str, username: str, display_name: str, role: str) -> None:
    """Create a user; the password comes from SUNSHINE_NEW_PASSWORD or a prompt."""
    password = os.environ.get("SUNSHINE_NEW_PASSWORD") or getpass.getpass("Password (12+ characters): ")
    office = get_or_create_office(db.session, office_slug, office_name or office_slug)
    try:
        user = create_user(
            db.session, office=office, username=username, display_name=display_name, password=password, role=role
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.username} in office {office.slug}")


@click.group()
def demo() -> None:
    """The demo year (development only)."""


@demo.command("load")
def load_command() -> None:
    """Load the demo office, users and year (idempotent)."""
    from service import settings_of
    from service.demo import load_demo

    if settings_of(current_app).environment == "production":
        raise click.ClickException("the demo is not loaded in production")
    current_app.config["SUNSHINE_INLINE_JOBS"] = True
    load_demo(db.session, settings_of(current_app))
    db.session.commit()
    click.echo("demo year loaded")


@demo.command("logins")
def logins_command() -> None:
    """Print how to sign in to the demo."""
    from service.demo import DEMO_USERS

    click.echo("")
    click.echo("Sunshine Draw 陽光抽籤 — http://127.0.0.1:8000/  (operator pages: /operator/)")
    click.echo("Demo logins 示範帳號:")
    for username, _display, role, password in DEMO_USERS:
        click.echo(f"  {role:9} username {username:9} password {password}")
    click.echo("")


@click.group()
def keys() -> None:
    """The office signing key (see keys/README.md)."""


def _settings():  # type: ignore[no-untyped-def]
    from service import settings_of

    return settings_of(current_app)


@keys.command("generate")
def keys_generate() -> None:
    """Create the first office key; its passphrase comes from SUNSHINE_KEY_PASSPHRASE."""
    from service.keystore import KeyUnavailable, generate_key

    try:
        key = generate_key(db.session, _settings())
    except KeyUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"office key {key.key_id} generated; public key written to {_settings().keys_dir / 'office.vkey'}")
    click.echo(key.vkey)


@keys.command("show")
def keys_show() -> None:
    """Print every office key, the active one first."""
    from sqlalchemy import select

    from service.models import SigningKey

    rows = db.session.scalars(select(SigningKey).order_by(SigningKey.status, SigningKey.created_at.desc())).all()
    if not rows:
        raise click.ClickException("no office key yet: run `flask keys generate`")
    for key in rows:
        click.echo(f"{key.status:8} {key.created_at:%Y-%m-%d}  {key.vkey}")


@keys.command("rotate")
def keys_rotate() -> None:
    """Retire the active key and create a new one (both sign the rotation checkpoint)."""
    from service.keystore import KeyUnavailable, rotate_key

    try:
        key = rotate_key(db.session, _settings())
    except KeyUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"rotated: new office key {key.key_id}")
    click.echo(key.vkey)


@click.group()
def audit() -> None:
    """Check the stored log and documents."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute the log and every checkpoint; exit 1 naming each problem."""
    from service.transparency import verify_log

    problems = verify_log(db.session)
    for problem in problems:
        click.echo(f"✗ {problem}")
    if problems:
        raise SystemExit(1)
    click.echo("✓ the log and every checkpoint verify")
