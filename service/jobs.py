"""Long work (parsing or importing 100k rows) runs in a background thread that reports progress.

Each job gets its own application context and database session and records its progress in
the database, so any worker process can answer the progress poll. Under tests jobs run inline.
"""

import logging
import threading
from collections.abc import Callable

from flask import Flask, current_app

from service.extensions import db

log = logging.getLogger(__name__)


def run_job(name: str, work: Callable[[], None], on_failure: Callable[[], None]) -> None:
    """Run `work` in the background (inline under tests); on an exception, log and call `on_failure`."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy typed as Flask

    def target() -> None:
        with app.app_context():
            try:
                work()
                db.session.commit()
            except Exception:
                log.exception("background job %s failed", name)
                db.session.rollback()
                on_failure()
                db.session.commit()
            finally:
                db.session.remove()

    if app.config.get("TESTING") or app.config.get("SUNSHINE_INLINE_JOBS"):
        db.session.commit()  # the job reads what this request wrote
        target()
        return
    db.session.commit()
    threading.Thread(target=target, name=f"job-{name}", daemon=True).start()
