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


class UnsafeStartup(RuntimeError):
    """The deployment would run with a protection that does not hold."""


def check_shared_counting(settings: Any, workers: int) -> None:
    """Refuse production with sign-in limits counted per process while more than one worker serves:
    N workers would allow N times the attempts (`service.throttle`). (No route uses Flask-Limiter
    any more; one that does must keep its storage shared too — `RATELIMIT_STORAGE_URI` is Redis
    when `REDIS_URL` is set.)"""
    from service.throttle import counting_kind

    if settings.environment == "production" and workers > 1 and counting_kind(settings) == "memory":
        raise UnsafeStartup(
            f"SUNSHINE_LOGIN_COUNTING=memory counts sign-in attempts in each of the {workers} workers, "
            f"allowing {workers} times the limit: unset it (the database is shared) or set REDIS_URL"
        )
