"""`flask uploads purge`: delete the bytes of uploads never imported."""

import click
from flask import current_app
from flask.cli import AppGroup

from service.config import settings_of
from service.extensions import db, session


@click.group(cls=AppGroup)
def uploads() -> None:
    """Uploaded declaration files."""


@uploads.command("purge")
def uploads_purge() -> None:
    """Delete the bytes of uploads not imported within SUNSHINE_UPLOAD_RETENTION_DAYS (run daily)."""
    from service.declarations import purge_stale_uploads

    count = purge_stale_uploads(session())
    db.session.commit()
    click.echo(f"purged {count} upload(s) older than {settings_of(current_app).upload_retention_days} days")
