"""`flask backup …`: back up the database and restore it (docs/deployment.md)."""

import click
from flask import current_app
from flask.cli import AppGroup

from service.config import settings_of
from service.extensions import db, session


@click.group(cls=AppGroup)
def backup() -> None:
    """Back up and restore the database (docs/deployment.md)."""


@backup.command("create")
@click.argument("path", type=click.Path(path_type=str))
def backup_create(path: str) -> None:
    """Write a backup (database and manifest.json) into the new directory PATH."""
    from pathlib import Path

    from service.backup import BackupError, create_backup

    db.session.remove()
    try:
        manifest = create_backup(settings_of(current_app), Path(path))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    checkpoint = manifest["checkpoint"]
    click.echo(
        f"backup written to {path}: {manifest['file']} ({manifest['bytes']} bytes, sha256 {manifest['sha256'][:16]}…), "
        f"log size {manifest['log_size']}, checkpoint {checkpoint['size'] if checkpoint else 'none'}"
    )
    click.echo("The data key, SECRET_KEY and the office key files are NOT in the backup: keep them apart.")


@backup.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=str))
def backup_restore(path: str) -> None:
    """Restore the backup in PATH into the configured (empty) database, then run the self-check."""
    from pathlib import Path

    from service.backup import BackupError, restore_backup, restored_problems

    db.session.remove()
    db.engine.dispose()
    try:
        manifest = restore_backup(settings_of(current_app), Path(path))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    db.engine.dispose()
    problems = restored_problems(session(), manifest)
    for problem in problems:
        click.echo(f"✗ {problem}")
    if problems:
        raise SystemExit(1)
    click.echo(
        f"✓ restored {manifest['file']} of {manifest['created_at']}: log size {manifest['log_size']}, self-check passed"
    )
