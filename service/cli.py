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
    load_demo(db.session)
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
