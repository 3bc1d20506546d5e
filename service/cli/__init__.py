"""`flask` commands, one module per command group: users, demo, keys, audit, uploads, backup, witnesses."""

from flask import Flask

from service.cli.audit import audit
from service.cli.backup import backup
from service.cli.demo import demo, served_address
from service.cli.keys import keys
from service.cli.uploads import uploads
from service.cli.users import users
from service.cli.witnesses import witnesses

__all__ = ["register_commands", "served_address"]


def register_commands(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(keys)
    app.cli.add_command(audit)
    app.cli.add_command(uploads)
    app.cli.add_command(backup)
    app.cli.add_command(witnesses)
