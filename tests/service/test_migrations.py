"""Alembic migrations build exactly the schema the models describe, and downgrade cleanly."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from service.extensions import db


def _reset(app: Flask) -> None:
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_upgrade_matches_the_models_and_downgrade_empties(app: Flask) -> None:
    with app.app_context():
        _reset(app)
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        downgrade(revision="base")
        remaining = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade()
        assert "declarant" in inspect(db.engine).get_table_names()


def test_uploads_pending_before_the_one_pass_import_are_failed_and_their_bytes_leave_the_row(app: Flask) -> None:
    """4b7e2a91c0d3: a file parsed by the old code has no checked lines to import, so it is marked
    failed (the operator uploads it again); done and refused uploads keep their status."""
    when = "2026-11-30 12:00:00+00:00"
    with app.app_context():
        _reset(app)
        upgrade(revision="9eed94e15dcd")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO office (id, slug, name, name_en, strata_map, name_disclosure, created_at) "
                    "VALUES (1, 'kinmen', '金門', 'Kinmen', '{}', 'none', :when)"
                ),
                {"when": when},
            )
            connection.execute(
                text(
                    "INSERT INTO user_account (id, office_id, username, display_name, password_hash, role, "
                    "active, created_at) VALUES (1, 1, 'operator', 'O', 'x', 'operator', :yes, :when)"
                ),
                {"when": when, "yes": True},
            )
            for number, status in enumerate(("parsing", "ready", "importing", "imported", "invalid"), 1):
                connection.execute(
                    text(
                        "INSERT INTO declaration_upload (id, office_id, roc_year, filename, content, sha256, status, "
                        "uploaded_by_id, uploaded_at, progress_done, rows_read, declarant_count, encoding, problems, "
                        "problem_count, summary) VALUES (:id, 1, 114, 'a.csv', :content, :sha, :status, 1, :when, "
                        "0, 0, 0, '', '[]', 0, '{}')"
                    ),
                    {"id": number, "content": b"x,y\n", "sha": "0" * 64, "status": status, "when": when},
                )
        upgrade()
        with db.engine.connect() as connection:
            statuses = dict(connection.execute(text("SELECT id, status FROM declaration_upload")).tuples().all())
            columns = {column["name"] for column in inspect(connection).get_columns("declaration_upload")}
            files = connection.execute(text("SELECT count(*) FROM declaration_upload_file")).scalar()
        assert statuses == {1: "failed", 2: "failed", 3: "failed", 4: "imported", 5: "invalid"}
        assert "content" not in columns and files == 0
        downgrade(revision="9eed94e15dcd")
        with db.engine.connect() as connection:
            kept = dict(connection.execute(text("SELECT id, status FROM declaration_upload")).tuples().all())
        assert kept == statuses
        _reset(app)  # (older revisions rebuild SQLite tables on downgrade, which rows referencing them refuse)
        upgrade()


def test_migrations_install_every_trigger(app: Flask) -> None:
    """The last migration leaves the same triggers as `create_all` (tests build the schema that way)."""

    def triggers() -> set[str]:
        with db.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            else:
                query = "SELECT DISTINCT trigger_name FROM information_schema.triggers"
            names = set(connection.execute(text(query)).scalars())
            if connection.dialect.name == "postgresql":  # TRUNCATE triggers are not listed there
                names |= set(connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
            return names

    with app.app_context():
        created = triggers()
        assert {"draw_set_once", "review_case_projection", "review_case_opened"} <= created
        _reset(app)
        upgrade()
        assert triggers() == created
        downgrade(revision="4b7e2a91c0d3")
        assert "draw_set_once" not in triggers() and "draw_announced_fixed" in triggers()
        upgrade()
        assert triggers() == created
