"""The Sunshine Draw web application: `create_app()` builds it (Flask application factory)."""

from flask import Flask

from service.config import ROOT, Settings, load_settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the application from `settings` (default: read from the environment).

    Refuses to start when an endpoint lacks an access rule (see `service.access`).
    """
    from public_site.cache import install as install_response_cache
    from public_site.export import register_export_command
    from service import i18n, web, witnessing
    from service.access import check_access_rules
    from service.cli import register_commands
    from service.extensions import db

    settings = settings or load_settings()
    from service.startup import protect_files, refuse_unsafe_production

    refuse_unsafe_production(settings)
    protect_files(settings)
    app = Flask(
        __name__,
        instance_path=str(settings.instance_dir),
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(settings.flask_config())
    app.extensions["sunshine_settings"] = settings
    settings.instance_dir.mkdir(parents=True, exist_ok=True)

    _init_extensions(app)
    web.register_converters(app)
    _register_blueprints(app)
    web.register(app)
    i18n.register(app)
    register_commands(app)
    register_export_command(app)  # `flask export-site OUT/`: the public site registers its own command
    check_access_rules(app)
    install_response_cache(app)
    witnessing.init_app(app)
    with app.app_context():
        # gunicorn --preload forks after this: no connection may be shared across workers.
        db.engine.dispose()
    return app


def _init_extensions(app: Flask) -> None:
    """Attach the unbound extensions of `service.extensions` to `app`."""
    from service import database, i18n
    from service.extensions import babel, csrf, db, limiter, login_manager, migrate

    database.configure_sqlite()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "service" / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    limiter.init_app(app)


def _register_blueprints(app: Flask) -> None:
    """One blueprint per audience: account, operator, the two APIs, reviewer, witness, the public site."""
    from public_site import public_blueprint
    from service.account import auth_blueprint
    from service.operator import operator_blueprint
    from service.public_api import api_blueprint
    from service.review_api import review_api_blueprint
    from service.reviewer import reviewer_blueprint
    from service.witness import witness_blueprint

    app.register_blueprint(auth_blueprint)
    app.register_blueprint(operator_blueprint)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(reviewer_blueprint)
    app.register_blueprint(review_api_blueprint)
    app.register_blueprint(witness_blueprint)
    app.register_blueprint(public_blueprint)
