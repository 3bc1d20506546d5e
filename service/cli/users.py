"""`flask users …`: create accounts, set passwords, lift sign-in waits, issue and revoke API tokens."""

import getpass
import os
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from service.accounts import AccountError, create_user, get_or_create_office
from service.config import settings_of
from service.extensions import db, session


@click.group(cls=AppGroup)
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.option("--office", "office_slug", required=True, help="office slug, e.g. kinmen")
@click.option("--office-name", default="", help="the office's name when it is created now")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--role", type=click.Choice(["admin", "operator", "reviewer", "witness"]), required=True)
def create_user_command(office_slug: str, office_name: str, username: str, display_name: str, role: str) -> None:
    """Create a user; the password comes from SUNSHINE_NEW_PASSWORD or a prompt."""
    password = os.environ.get("SUNSHINE_NEW_PASSWORD") or getpass.getpass("Password (12+ characters): ")
    office = get_or_create_office(session(), office_slug, office_name or office_slug)
    try:
        user = create_user(
            session(), office=office, username=username, display_name=display_name, password=password, role=role
        )
    except AccountError as exc:
        raise click.ClickException(_both_languages(exc)) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.username} in office {office.slug}")


def _both_languages(exc: Exception) -> str:
    """An account error in Taiwan's Chinese with the English beside it (a weak password says how
    to do better in both)."""
    from flask_babel import force_locale

    from service.accounts import PasswordTooWeak

    if not isinstance(exc, PasswordTooWeak):
        return str(exc)
    with force_locale("zh_Hant_TW"):
        chinese = str(exc.message)
    with force_locale("en"):
        english = str(exc.message)
    return f"{chinese}\n{english}"


def _user(username: str) -> Any:
    from sqlalchemy import select

    from service.models import User

    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {username}")
    return user


@users.command("password")
@click.argument("username")
def password_command(username: str) -> None:
    """Set a user's password (from SUNSHINE_NEW_PASSWORD or a prompt); a weak one is refused."""
    from service.accounts import set_password
    from service.signin import Client, record_event

    user = _user(username)
    password = os.environ.get("SUNSHINE_NEW_PASSWORD") or getpass.getpass("New password (12+ characters): ")
    try:
        set_password(user, password)
    except AccountError as exc:
        raise click.ClickException(_both_languages(exc)) from None
    record_event(session(), "password_set_by_admin", user.username, user, Client(ip="cli"))
    db.session.commit()
    click.echo(f"the password of {user.username} is changed")


@users.command("unlock")
@click.argument("username")
def unlock_command(username: str) -> None:
    """End a user's wait after failed sign-ins (the run of failures of the account is forgotten)."""
    from service.signin import Client, record_event
    from service.throttle import clear_account, store_for

    user = _user(username)
    clear_account(store_for(current_app, session()), user.username)
    user.failed_logins = 0
    user.locked_until = None
    record_event(session(), "unlocked", user.username, user, Client(ip="cli"))
    db.session.commit()
    click.echo(f"{user.username} may sign in again at once")


@users.command("token")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="revoke all of the user's tokens instead of issuing one")
def token_command(username: str, revoke: bool) -> None:
    """Shorthand: issue a read-write token named "cli" (or revoke all the user's tokens). See `users tokens`."""
    from service.accounts import issue_api_token, revoke_api_token

    user = _user(username)
    if revoke:
        count = revoke_api_token(session(), user)
        db.session.commit()
        click.echo(f"{count} API token(s) of {user.username} revoked")
        return
    token = issue_api_token(session(), user, name="cli", scope="write", days=settings_of(current_app).api_token_days)
    db.session.commit()
    click.echo(f"API token for {user.username} ({user.role}); it is shown only this once:", err=True)
    click.echo(token)


@users.group("tokens", cls=AppGroup)
def tokens() -> None:
    """API tokens: list, create, revoke."""


@tokens.command("list")
@click.argument("username", required=False)
def tokens_list(username: str | None) -> None:
    """Every token (or one user's): id, user, name, scope, state, created, expires, last used."""
    from service.accounts import api_tokens, token_state
    from service.models import utcnow

    now = utcnow()
    rows = api_tokens(session(), _user(username) if username else None)
    if not rows:
        click.echo("no API tokens")
    for row in rows:
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}Z" if row.last_used_at else "never"
        click.echo(
            f"{row.id:5} {row.user.username:20} {row.name:20} {row.scope:5} {token_state(row, now):7} "
            f"created {row.created_at:%Y-%m-%d} expires {row.expires_at:%Y-%m-%d} last used {used}"
        )


@tokens.command("create")
@click.argument("username")
@click.option("--name", required=True, help="what the token is for, e.g. 'case sync script'")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True)
@click.option(
    "--days", type=click.IntRange(1, 366), default=None, help="lifetime (default SUNSHINE_API_TOKEN_DAYS, 90)"
)
def tokens_create(username: str, name: str, scope: str, days: int | None) -> None:
    """Issue a named token and print it once."""
    from service.accounts import issue_api_token

    user = _user(username)
    try:
        token = issue_api_token(
            session(), user, name=name, scope=scope, days=days or settings_of(current_app).api_token_days
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{scope} API token {name!r} for {user.username} ({user.role}); it is shown only this once:", err=True)
    click.echo(token)


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke one token by its id (from `flask users tokens list`)."""
    from service.accounts import revoke_api_token
    from service.models import ApiToken

    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise click.ClickException(f"no API token {token_id}")
    if not revoke_api_token(session(), row.user, token_id):
        raise click.ClickException(f"API token {token_id} is already revoked")
    db.session.commit()
    click.echo(f"API token {token_id} ({row.name}) of {row.user.username} revoked")
