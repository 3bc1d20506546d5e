"""What gunicorn runs once it is ready, before the workers serve anyone."""

from typing import Any


def run_self_check(log: Any) -> list[str]:
    """Run the integrity self-check against the configured database and log the outcome."""
    from sqlalchemy.exc import SQLAlchemyError

    from service import create_app
    from service.extensions import db
    from service.integrity import self_check

    app = create_app()
    with app.app_context():
        try:
            problems = self_check(db.session)
        except SQLAlchemyError as exc:
            log.warning("self-check skipped: the database is not ready (%s)", type(exc).__name__)
            return []
        finally:
            db.session.remove()
            db.engine.dispose()
    for problem in problems:
        log.error("SELF-CHECK FAILED: %s", problem)
    if not problems:
        log.info("self-check: the log, checkpoints, published draws and review cases match what was signed")
    return problems
