"""`flask witnesses …`: submit the latest checkpoint to the witnesses and show what each has cosigned."""

import click
from flask import current_app
from flask.cli import AppGroup

from service.config import settings_of
from service.extensions import session


@click.group(cls=AppGroup)
def witnesses() -> None:
    """The witnesses that cosign the log's checkpoints (SUNSHINE_WITNESSES; service/witnessing.py)."""


@witnesses.command("submit")
def witnesses_submit() -> None:
    """Submit the latest checkpoint to every configured witness now; one line per witness."""
    from service.witnessing import submit_latest, submitter_of

    settings = settings_of(current_app)
    if not settings.witnesses:
        click.echo("No witness is configured (SUNSHINE_WITNESSES).")
        return
    outcomes = submit_latest(session(), settings, submitter_of(current_app))
    if not outcomes:
        click.echo("The log has no checkpoint yet.")
    for outcome in outcomes:
        mark = "✓" if outcome.ok else "✗"
        detail = f": {outcome.detail}" if outcome.detail else ""
        click.echo(f"{mark} {outcome.witness}: checkpoint {outcome.size} {outcome.result}{detail}")
    if not all(outcome.ok for outcome in outcomes):
        raise SystemExit(1)


@witnesses.command("status")
def witnesses_status() -> None:
    """Each configured witness: the latest checkpoint it cosigned, against the latest signed."""
    from service.transparency import latest_checkpoint
    from service.witnessing import cosigned_size

    settings = settings_of(current_app)
    if not settings.witnesses:
        click.echo("No witness is configured (SUNSHINE_WITNESSES).")
        return
    latest = latest_checkpoint(session())
    latest_size = latest.size if latest is not None else 0
    click.echo(f"Latest signed checkpoint: size {latest_size}")
    for endpoint in settings.witnesses:
        size = cosigned_size(session(), endpoint)
        state = "up to date" if size == latest_size and size else f"{latest_size - size} entries behind"
        cosigned = f"cosigned up to size {size}" if size else "has cosigned nothing yet"
        click.echo(f"{endpoint.name} ({endpoint.url}): {cosigned}, {state}")
