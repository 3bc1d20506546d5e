"""Database triggers that keep history immutable whatever code (or person) writes to the tables.

- `log_entry` and `log_checkpoint` are append-only: UPDATE, DELETE (and TRUNCATE) are refused.
- An announced draw's fixed fields (population, announcement, sealed secret, schedule) never
  change; a completed draw's inputs and result never change; an abandoned draw stays abandoned.
- Declarants of a year frozen by an announced or completed draw cannot be changed or deleted.
- Office keys are never deleted and their public halves never change.

Version 2 adds the review history:

- `review_event` is append-only (a correction is a new event naming the one it corrects).
- A `review_case` is never deleted, and what identifies it (office, draw, declarant, case number,
  stage, origin, the draw id its log events carry) never changes; its state and assignee do.

Version 3 closes what an insider could still change with the triggers in place:

- A non-draft draw row is set-once: each column in `DRAW_SET_ONCE` goes from NULL (or empty) to
  its value once and never changes; `status` only moves draft → announced → completed |
  abandoned; `revealed_count` only rises; `witness_confirmations` (confirmations typed by an
  operator before witnesses signed in for themselves) never changes.
- A review case's projected columns (`REVIEW_PROJECTED`: state, assignee, due date, fine) change
  only together with a new event of its history: the UPDATE must carry the case's highest event
  sequence as `last_event_sequence`, higher than before. A case is inserted as `drawn` with
  nothing recorded. `flask audit verify` replays every case's events and names any difference.

Version 4 adds the witnesses (issue 12):

- `draw_witness` (which user is which announced witness, written at the announcement) and
  `draw_witness_confirmation` (each witness's own confirmation, logged) are append-only.

The statements are versioned (`V1`, `V2`, …): a migration that installs them names the version it
uses, and `create_all` installs every version. SQLite drops a table's triggers when Alembic's
batch mode recreates the table, so a later migration that batch-alters one of these tables must
install that table's triggers again.
"""

from sqlalchemy import DDL, MetaData, event

_FIXED_AT_ANNOUNCEMENT = (
    "announcement", "announcement_sig", "announcement_digest", "population_tsv", "population_digest",
    "sealed_secret", "commitment", "drand_round", "dice_count", "use_drand", "draw_id", "office_id",
    "roc_year", "scheduled_at", "signing_key_id", "announced_at", "announced_log_index",
)  # fmt: skip
_FIXED_AT_COMPLETION = (
    "result", "result_sig", "result_digest", "seed", "dice", "revealed_secret", "drawn_at", "completed_at",
    "completed_log_index",
)  # fmt: skip
_FROZEN_YEAR = (
    "EXISTS (SELECT 1 FROM draw WHERE draw.office_id = OLD.office_id AND draw.roc_year = OLD.roc_year "
    "AND draw.status IN ('announced', 'completed'))"
)


def _changed(columns: tuple[str, ...], cast: str = "") -> str:
    return " OR ".join(f"NEW.{c}{cast} IS DISTINCT FROM OLD.{c}{cast}" for c in columns)


def _sqlite_changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)


def _sqlite_refuse(name: str, timing: str, table: str, message: str, when: str | None = None) -> str:
    condition = f" WHEN {when}" if when else ""
    return f"CREATE TRIGGER IF NOT EXISTS {name} {timing} ON {table}{condition} BEGIN SELECT RAISE(ABORT, '{message}'); END"


SQLITE_V1 = (
    _sqlite_refuse("log_entry_no_update", "BEFORE UPDATE", "log_entry", "the transparency log is append-only"),
    _sqlite_refuse("log_entry_no_delete", "BEFORE DELETE", "log_entry", "the transparency log is append-only"),
    _sqlite_refuse("checkpoint_no_update", "BEFORE UPDATE", "log_checkpoint", "checkpoints are append-only"),
    _sqlite_refuse("checkpoint_no_delete", "BEFORE DELETE", "log_checkpoint", "checkpoints are append-only"),
    _sqlite_refuse(
        "draw_announced_fixed", "BEFORE UPDATE", "draw", "an announced draw cannot change",
        f"OLD.status != 'draft' AND (NEW.status = 'draft' OR {_sqlite_changed(_FIXED_AT_ANNOUNCEMENT)})",
    ),
    _sqlite_refuse(
        "draw_completed_fixed", "BEFORE UPDATE", "draw", "a completed draw cannot change",
        f"OLD.status = 'completed' AND (NEW.status != 'completed' OR {_sqlite_changed(_FIXED_AT_COMPLETION)}"
        " OR NEW.drand_beacon IS NOT OLD.drand_beacon)",
    ),
    _sqlite_refuse(
        "draw_abandoned_final", "BEFORE UPDATE", "draw", "an abandoned draw cannot change",
        "OLD.status = 'abandoned'",
    ),
    _sqlite_refuse("draw_no_delete", "BEFORE DELETE", "draw", "only a draft draw can be deleted", "OLD.status != 'draft'"),
    _sqlite_refuse(
        "declarant_frozen_update", "BEFORE UPDATE", "declarant",
        "the population of this year is frozen by an announced draw", _FROZEN_YEAR,
    ),
    _sqlite_refuse(
        "declarant_frozen_delete", "BEFORE DELETE", "declarant",
        "the population of this year is frozen by an announced draw", _FROZEN_YEAR,
    ),
    _sqlite_refuse("signing_key_no_delete", "BEFORE DELETE", "signing_key", "office keys are never deleted"),
    _sqlite_refuse(
        "signing_key_fixed", "BEFORE UPDATE", "signing_key", "an office key cannot change",
        "NEW.vkey IS NOT OLD.vkey OR NEW.key_id IS NOT OLD.key_id OR OLD.status = 'retired'",
    ),
)  # fmt: skip


def _pg_trigger(name: str, timing: str, table: str, message: str, when: str | None = None, each: str = "ROW") -> str:
    condition = f" WHEN ({when})" if when else ""
    return (
        f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH {each}{condition} "
        f"EXECUTE FUNCTION sunshine_refuse('{message}')"
    )


POSTGRESQL_V1 = (
    "CREATE OR REPLACE FUNCTION sunshine_refuse() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation'; END $$",
    "CREATE OR REPLACE FUNCTION sunshine_declarant_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF {_FROZEN_YEAR} THEN RAISE EXCEPTION 'the population of this year is frozen by an announced draw' "
    "USING ERRCODE = 'integrity_constraint_violation'; END IF; "
    "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$",
    _pg_trigger("log_entry_append_only", "BEFORE UPDATE OR DELETE", "log_entry", "the transparency log is append-only"),
    _pg_trigger("log_entry_no_truncate", "BEFORE TRUNCATE", "log_entry", "the transparency log is append-only", each="STATEMENT"),
    _pg_trigger("checkpoint_append_only", "BEFORE UPDATE OR DELETE", "log_checkpoint", "checkpoints are append-only"),
    _pg_trigger("checkpoint_no_truncate", "BEFORE TRUNCATE", "log_checkpoint", "checkpoints are append-only", each="STATEMENT"),
    _pg_trigger(
        "draw_announced_fixed", "BEFORE UPDATE", "draw", "an announced draw cannot change",
        f"OLD.status != 'draft' AND (NEW.status = 'draft' OR {_changed(_FIXED_AT_ANNOUNCEMENT)})",
    ),
    _pg_trigger(
        "draw_completed_fixed", "BEFORE UPDATE", "draw", "a completed draw cannot change",
        f"OLD.status = 'completed' AND (NEW.status != 'completed' OR {_changed(_FIXED_AT_COMPLETION)}"
        " OR NEW.drand_beacon::text IS DISTINCT FROM OLD.drand_beacon::text)",
    ),
    _pg_trigger("draw_abandoned_final", "BEFORE UPDATE", "draw", "an abandoned draw cannot change", "OLD.status = 'abandoned'"),
    _pg_trigger("draw_no_delete", "BEFORE DELETE", "draw", "only a draft draw can be deleted", "OLD.status != 'draft'"),
    "CREATE TRIGGER declarant_frozen BEFORE UPDATE OR DELETE ON declarant FOR EACH ROW "
    "EXECUTE FUNCTION sunshine_declarant_frozen()",
    _pg_trigger("signing_key_no_delete", "BEFORE DELETE", "signing_key", "office keys are never deleted"),
    _pg_trigger(
        "signing_key_fixed", "BEFORE UPDATE", "signing_key", "an office key cannot change",
        "NEW.vkey IS DISTINCT FROM OLD.vkey OR NEW.key_id IS DISTINCT FROM OLD.key_id OR OLD.status = 'retired'",
    ),
)  # fmt: skip


_REVIEW_CASE_IDENTITY = (
    "office_id", "draw_pk", "declarant_id", "roc_year", "case_number", "stage", "origin", "log_draw_id",
    "created_by_id", "created_at",
)  # fmt: skip

SQLITE_V2 = (
    _sqlite_refuse("review_event_no_update", "BEFORE UPDATE", "review_event", "the review history is append-only"),
    _sqlite_refuse("review_event_no_delete", "BEFORE DELETE", "review_event", "the review history is append-only"),
    _sqlite_refuse("review_case_no_delete", "BEFORE DELETE", "review_case", "review cases are never deleted"),
    _sqlite_refuse(
        "review_case_identity_fixed", "BEFORE UPDATE", "review_case", "what identifies a review case cannot change",
        _sqlite_changed(_REVIEW_CASE_IDENTITY),
    ),
)  # fmt: skip

POSTGRESQL_V2 = (
    _pg_trigger("review_event_append_only", "BEFORE UPDATE OR DELETE", "review_event", "the review history is append-only"),
    _pg_trigger("review_event_no_truncate", "BEFORE TRUNCATE", "review_event", "the review history is append-only", each="STATEMENT"),
    _pg_trigger("review_case_no_delete", "BEFORE DELETE", "review_case", "review cases are never deleted"),
    _pg_trigger("review_case_no_truncate", "BEFORE TRUNCATE", "review_case", "review cases are never deleted", each="STATEMENT"),
    _pg_trigger(
        "review_case_identity_fixed", "BEFORE UPDATE", "review_case", "what identifies a review case cannot change",
        _changed(_REVIEW_CASE_IDENTITY),
    ),
)  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Version 3: set-once draw rows and a review projection that only moves with its history
# ---------------------------------------------------------------------------------------------

#: Every column of a non-draft draw that may go from NULL (or empty) to its value once and never
#: change afterwards. A new draw column belongs here unless it has a rule of its own below
#: (`status` only along draft → announced → completed | abandoned, `revealed_count` only upward,
#: `witness_confirmations` never, `updated_at` free).
DRAW_SET_ONCE = (
    "id", "office_id", "draw_id", "roc_year", "title", "rate_bp", "rounding", "grouping", "comparison_rate_bp",
    "dice_count", "use_drand", "scheduled_at", "min_notice_hours", "witnesses", "created_by_id", "created_at",
    "population_tsv", "population_digest", "announcement", "announcement_sig", "announcement_digest",
    "sealed_secret", "commitment", "drand_round", "signing_key_id", "announced_at", "announced_by_id",
    "live_started_at", "dice", "dice_entered_at", "revealed_secret", "secret_revealed_at", "drand_beacon",
    "drawn_at", "result", "result_sig", "result_digest", "seed", "completed_at", "announced_log_index",
    "completed_log_index", "abandoned_reason", "abandoned_at", "input_window_minutes", "inputs_close_at",
    "bindings_tsv", "bindings_digest", "sealed_salts",
)  # fmt: skip

#: The columns of `review_case` that are a projection of its events (`service.reviews.replay`).
REVIEW_PROJECTED = ("state", "assignee_id", "due_on", "fine_amount", "fine_ground", "last_event_sequence")


def _sqlite_set_once(column: str) -> str:
    # "empty": NULL, '' or a JSON null (SQLAlchemy stores a Python None in a JSON column as 'null')
    return (
        f"(OLD.{column} IS NOT NULL AND CAST(OLD.{column} AS TEXT) NOT IN ('', 'null') "
        f"AND NEW.{column} IS NOT OLD.{column})"
    )


def _pg_set_once(column: str) -> str:
    # compared as text: JSON has no equality operator, and text compares every type alike
    return (
        f"(OLD.{column} IS NOT NULL AND OLD.{column}::text NOT IN ('', 'null') "
        f"AND NEW.{column}::text IS DISTINCT FROM OLD.{column}::text)"
    )


_STATUS_PATH_SQLITE = (
    "NOT (NEW.status IS OLD.status OR (OLD.status = 'announced' AND NEW.status IN ('completed', 'abandoned')))"
)
_STATUS_PATH_PG = (
    "NOT (NEW.status IS NOT DISTINCT FROM OLD.status "
    "OR (OLD.status = 'announced' AND NEW.status IN ('completed', 'abandoned')))"
)
# Witnesses confirm from their own sign-in into `draw_witness_confirmation` (version 4); the JSON
# column keeps only what operators typed before that, and never changes once a draw is announced.
_CONFIRMATIONS_SQLITE = "NEW.witness_confirmations IS NOT OLD.witness_confirmations"
_CONFIRMATIONS_PG = "NEW.witness_confirmations::text IS DISTINCT FROM OLD.witness_confirmations::text"
_REVEALED_ONLY_UP = (
    "(OLD.revealed_count IS NOT NULL AND (NEW.revealed_count IS NULL OR NEW.revealed_count < OLD.revealed_count))"
)
_LATEST_EVENT = "(SELECT max(sequence) FROM review_event WHERE review_event.case_id = NEW.id)"


def _draw_set_once_condition(dialect: str) -> str:
    if dialect == "sqlite":
        columns, status, confirmations = _sqlite_set_once, _STATUS_PATH_SQLITE, _CONFIRMATIONS_SQLITE
    else:
        columns, status, confirmations = _pg_set_once, _STATUS_PATH_PG, _CONFIRMATIONS_PG
    rules = [columns(c) for c in DRAW_SET_ONCE] + [status, confirmations, _REVEALED_ONLY_UP]
    return "OLD.status != 'draft' AND (" + " OR ".join(rules) + ")"


_CASE_OPENED_SQLITE = (
    "NEW.state IS NOT 'drawn' OR NEW.fine_amount IS NOT NULL OR NEW.fine_ground IS NOT NULL "
    "OR NEW.assignee_id IS NOT NULL OR NEW.last_event_sequence IS NOT 0"
)
_CASE_OPENED_PG = (
    "NEW.state IS DISTINCT FROM 'drawn' OR NEW.fine_amount IS NOT NULL OR NEW.fine_ground IS NOT NULL "
    "OR NEW.assignee_id IS NOT NULL OR NEW.last_event_sequence IS DISTINCT FROM 0"
)
_PROJECTION_MESSAGE = "a review case changes only with a new event of its history"

SQLITE_V3 = (
    _sqlite_refuse(
        "draw_set_once", "BEFORE UPDATE", "draw", "a published draw is written once and never changed",
        _draw_set_once_condition("sqlite"),
    ),
    _sqlite_refuse(
        "draw_status_path", "BEFORE UPDATE", "draw", "a draft draw can only be announced",
        "OLD.status = 'draft' AND NEW.status NOT IN ('draft', 'announced')",
    ),
    _sqlite_refuse(
        "review_case_opened", "BEFORE INSERT", "review_case", "a review case opens as drawn, with nothing recorded yet",
        _CASE_OPENED_SQLITE,
    ),
    _sqlite_refuse(
        "review_case_projection", "BEFORE UPDATE", "review_case", _PROJECTION_MESSAGE,
        f"({_sqlite_changed(REVIEW_PROJECTED)}) AND NOT (NEW.last_event_sequence IS {_LATEST_EVENT} "
        "AND NEW.last_event_sequence > OLD.last_event_sequence)",
    ),
)  # fmt: skip

POSTGRESQL_V3 = (
    "CREATE OR REPLACE FUNCTION sunshine_review_projection() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF NEW.last_event_sequence IS DISTINCT FROM {_LATEST_EVENT} "
    "OR NOT (NEW.last_event_sequence > OLD.last_event_sequence) THEN "
    f"RAISE EXCEPTION '{_PROJECTION_MESSAGE}' USING ERRCODE = 'integrity_constraint_violation'; END IF; "
    "RETURN NEW; END $$",
    _pg_trigger(
        "draw_set_once", "BEFORE UPDATE", "draw", "a published draw is written once and never changed",
        _draw_set_once_condition("postgresql"),
    ),
    _pg_trigger(
        "draw_status_path", "BEFORE UPDATE", "draw", "a draft draw can only be announced",
        "OLD.status = 'draft' AND NEW.status NOT IN ('draft', 'announced')",
    ),
    _pg_trigger("draw_no_truncate", "BEFORE TRUNCATE", "draw", "only a draft draw can be deleted", each="STATEMENT"),
    _pg_trigger(
        "review_case_opened", "BEFORE INSERT", "review_case", "a review case opens as drawn, with nothing recorded yet",
        _CASE_OPENED_PG,
    ),
    f"CREATE TRIGGER review_case_projection BEFORE UPDATE ON review_case FOR EACH ROW "
    f"WHEN ({_changed(REVIEW_PROJECTED)}) EXECUTE FUNCTION sunshine_review_projection()",
)  # fmt: skip


_WITNESS_TABLES = (
    ("draw_witness", "who witnesses a draw is fixed at its announcement"),
    ("draw_witness_confirmation", "witness confirmations are append-only"),
)
SQLITE_V4 = tuple(
    _sqlite_refuse(f"{table}_no_{what.lower()}", f"BEFORE {what}", table, message)
    for table, message in _WITNESS_TABLES
    for what in ("UPDATE", "DELETE")
)
POSTGRESQL_V4 = tuple(
    statement
    for table, message in _WITNESS_TABLES
    for statement in (
        _pg_trigger(f"{table}_append_only", "BEFORE UPDATE OR DELETE", table, message),
        _pg_trigger(f"{table}_no_truncate", "BEFORE TRUNCATE", table, message, each="STATEMENT"),
    )
)

_COSIGNATURES = "witness cosignatures are append-only"
SQLITE_V5 = tuple(
    _sqlite_refuse(f"witness_cosignature_no_{what.lower()}", f"BEFORE {what}", "witness_cosignature", _COSIGNATURES)
    for what in ("UPDATE", "DELETE")
)
POSTGRESQL_V5 = (
    _pg_trigger("witness_cosignature_append_only", "BEFORE UPDATE OR DELETE", "witness_cosignature", _COSIGNATURES),
    _pg_trigger(
        "witness_cosignature_no_truncate", "BEFORE TRUNCATE", "witness_cosignature", _COSIGNATURES, each="STATEMENT"
    ),
)

_VERSIONS = {
    1: {"sqlite": SQLITE_V1, "postgresql": POSTGRESQL_V1},
    2: {"sqlite": SQLITE_V2, "postgresql": POSTGRESQL_V2},
    3: {"sqlite": SQLITE_V3, "postgresql": POSTGRESQL_V3},
    4: {"sqlite": SQLITE_V4, "postgresql": POSTGRESQL_V4},
    5: {"sqlite": SQLITE_V5, "postgresql": POSTGRESQL_V5},
}
#: Every version, oldest first.
VERSIONS = tuple(sorted(_VERSIONS))


def statements_for(dialect: str, version: int = 1) -> tuple[str, ...]:
    """The trigger statements of one version for a database dialect (`sqlite` or `postgresql`).

    Version 2 needs version 1 installed first (on PostgreSQL it uses V1's `sunshine_refuse()`).
    """
    return _VERSIONS[version].get(dialect, ())


def install_with_metadata(metadata: MetaData) -> None:
    """Create the triggers whenever `metadata.create_all` creates the tables (tests, fresh set-ups)."""
    for version in sorted(_VERSIONS):
        for dialect, statements in _VERSIONS[version].items():
            for statement in statements:
                # DDL() formats its text with %-style substitution; a literal % is written %%.
                escaped = statement.replace("%", "%%")
                ddl = DDL(escaped).execute_if(dialect=dialect)  # type: ignore[no-untyped-call]  # DDL.__init__ is unannotated
                event.listen(metadata, "after_create", ddl)


def _trigger_names(statements: tuple[str, ...]) -> list[tuple[str, str]]:
    names = []
    for statement in statements:
        words = statement.split()
        if words[:2] == ["CREATE", "TRIGGER"]:
            name = words[5] if words[2:5] == ["IF", "NOT", "EXISTS"] else words[2]
            table = words[words.index("ON") + 1]
            names.append((name, table))
    return names


def drop_statements_for(dialect: str, version: int = 1) -> tuple[str, ...]:
    """Statements that remove one version's triggers (for a downgrade; V1's also drop its functions)."""
    statements = statements_for(dialect, version)
    if dialect == "sqlite":
        return tuple(f"DROP TRIGGER IF EXISTS {name}" for name, _ in _trigger_names(statements))
    if dialect == "postgresql":
        drops = [f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in _trigger_names(statements)]
        if version == 3:
            return (*drops, "DROP FUNCTION IF EXISTS sunshine_review_projection()")
        if version != 1:
            return tuple(drops)
        return (
            *drops,
            "DROP FUNCTION IF EXISTS sunshine_refuse()",
            "DROP FUNCTION IF EXISTS sunshine_declarant_frozen()",
        )
    return ()


def reinstall_statements(dialect: str, up_to: int | None = None) -> tuple[str, ...]:
    """Every version's triggers (up to version `up_to`), installed again where they are missing.

    On SQLite a batch-alter of a table drops its triggers, so the migration that comes last
    installs all of them again (`IF NOT EXISTS`); on PostgreSQL each trigger is dropped and created.
    A migration passes the last version that existed when it was written: a later version's
    tables do not exist yet at that point of the upgrade.
    """
    statements: list[str] = []
    for version in sorted(v for v in _VERSIONS if up_to is None or v <= up_to):
        for statement in statements_for(dialect, version):
            names = _trigger_names((statement,))
            if dialect == "postgresql" and names:
                name, table = names[0]
                statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            statements.append(statement)
    return tuple(statements)
