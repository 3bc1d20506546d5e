"""gunicorn settings for `make run` and deployments (override with GUNICORN_* variables)."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
preload_app = True
timeout = 60
graceful_timeout = 20
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No control socket: it is a shared path in the home folder, and nothing here uses it.
control_socket_disable = True


def when_ready(server):  # gunicorn hook
    """Start-up self-check: say loudly if stored history no longer matches what was signed."""
    from service.startup import run_self_check

    run_self_check(server.log)


def on_starting(server):  # gunicorn hook
    """Refuse to serve with per-process sign-in counting and several workers (service/startup.py)."""
    from service.config import load_settings
    from service.startup import UnsafeStartup, check_shared_counting

    try:
        check_shared_counting(load_settings(), server.cfg.workers)
    except UnsafeStartup as exc:
        server.log.error("REFUSING TO START: %s", exc)
        raise SystemExit(f"refusing to start: {exc}") from None
