"""`flask keys …`: the office signing key and the data key that seals national IDs."""

import os

import click
from flask import current_app
from flask.cli import AppGroup

from service.config import settings_of
from service.extensions import db, session


@click.group(cls=AppGroup)
def keys() -> None:
    """The office signing key (see keys/README.md)."""


@keys.command("generate")
def keys_generate() -> None:
    """Create the first office key; its passphrase comes from SUNSHINE_KEY_PASSPHRASE."""
    from service.keystore import KeyUnavailable, generate_key

    settings = settings_of(current_app)
    try:
        key = generate_key(session(), settings)
    except KeyUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"office key {key.key_id} generated; public key written to {settings.keys_dir / 'office.vkey'}")
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
        key = rotate_key(session(), settings_of(current_app))
    except KeyUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"rotated: new office key {key.key_id}")
    click.echo(key.vkey)


@keys.command("new-data-key")
def keys_new_data_key() -> None:
    """Print a new random data key (64 hex characters) for SUNSHINE_DATA_KEY or a key file."""
    from service.sealing import new_data_key

    click.echo(new_data_key())


@keys.command("rotate-data-key")
@click.option(
    "--new-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="file holding the new data key (default: the SUNSHINE_NEW_DATA_KEY variable)",
)
def keys_rotate_data_key(new_key_file: str | None) -> None:
    """Re-seal every national ID (and pending upload) under a new data key; then configure it."""
    from pathlib import Path

    from service.keystore import rotate_data_key
    from service.sealing import DataKeyError, PersonalDataLost, parse_data_key

    text = Path(new_key_file).read_text(encoding="ascii") if new_key_file else os.environ.get("SUNSHINE_NEW_DATA_KEY")
    if not text:
        raise click.ClickException("give the new key: --new-key-file PATH or SUNSHINE_NEW_DATA_KEY")
    try:
        count = rotate_data_key(session(), settings_of(current_app), parse_data_key(text))
    except (DataKeyError, PersonalDataLost) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"re-sealed {count} national IDs and pending uploads under the new data key.")
    click.echo("Now set SUNSHINE_DATA_KEY (or SUNSHINE_DATA_KEY_FILE) to the new key and restart the service.")
