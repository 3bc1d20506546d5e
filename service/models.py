"""Database models (SQLAlchemy 2.0 typed mappings).

Times are stored in UTC (`UTCDateTime` refuses naive values and gives aware ones back on every
database); invariants that must hold whatever code writes a row are `CheckConstraint`s.

This module is the schema, one class per table, and stays one file: the tables refer to each
other by relationship and foreign key, Alembic's autogenerate compares against all of them at
once, and a reader checking a migration wants the whole schema in one place.
"""

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from service.extensions import db

if TYPE_CHECKING:
    # Flask-SQLAlchemy makes db.Model from `Base` at run time; to mypy it is a variable, not a
    # class to derive from, so the models are checked against `Base`.
    from service.extensions import Base as Model
else:
    Model = db.Model

ROLES = ("admin", "operator", "reviewer", "witness")
DRAW_STATUSES = ("draft", "announced", "completed", "abandoned")
ROUNDING = ("up", "nearest", "down")
GROUPING = ("pooled", "stratified")
NAME_DISCLOSURE = ("none", "masked", "full")
#: Review states, docs/architecture.md "Review states" (the transitions are in `service.reviews`).
REVIEW_STATES = (
    "drawn", "querying", "under_review", "no_discrepancy", "discrepancy", "statement_invited",
    "correction_notice", "trust_notice", "referred", "fined", "not_fined", "explanation_requested",
    "explained", "closed",
)  # fmt: skip
REVIEW_STAGES = ("review", "comparison")
REVIEW_ORIGINS = ("lottery", "case-based")
REVIEW_EVENT_KINDS = ("opened", "transition", "correction", "assignment")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC).replace(microsecond=0)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Office(Model):
    """An ethics office (政風單位); every other row belongs to exactly one."""

    __tablename__ = "office"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    #: Declaration type code → stratum, e.g. {"regular": "regular", "taking-office": "non-regular"}.
    strata_map: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: How the public site shows drawn declarants: not at all, masked (王○明) or in full.
    name_disclosure: Mapped[str] = mapped_column(String(10), default="none")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint(f"name_disclosure IN {NAME_DISCLOSURE}", name="name_disclosure"),)


class User(UserMixin, Model):  # type: ignore[misc]  # flask_login is untyped: UserMixin is Any
    """A person who signs in: an office's admin, operator, reviewer or witness."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: SHA-256 (hex) of the user's API token for the JSON API; the token itself is never stored.
    api_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True, index=True)
    api_token_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The TOTP secret, sealed with the deployment key (see `service.accounts.seal_totp_secret`).
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The last TOTP time step accepted, so a code cannot be used twice.
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    office: Mapped[Office] = relationship()

    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="role"),)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return bool(self.active)


class DeclarationUpload(Model):
    """An uploaded declaration file: its check, its preview and its import.

    The bytes live in `UploadedFile`, a row of their own: the job's heartbeat and progress
    update this row every few seconds, and SQLite rewrites a whole row on update.
    """

    __tablename__ = "declaration_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    roc_year: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    #: parsing → invalid | ready → importing → imported; or discarded; failed if a job died.
    status: Mapped[str] = mapped_column(String(16), default="parsing")
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Heartbeat of the background job; a job silent for too long died with its process.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    declarant_count: Mapped[int] = mapped_column(Integer, default=0)
    encoding: Mapped[str] = mapped_column(String(16), default="")
    #: Problems found, as [{"row", "column", "zh", "en"}] (at most `MAX_PROBLEMS_KEPT`).
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Counts for the preview: by stratum, type and agency, and the merged duplicates.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        CheckConstraint(
            "status IN ('parsing', 'invalid', 'ready', 'importing', 'imported', 'discarded', 'failed')",
            name="status",
        ),
    )


class UploadedFile(Model):
    """The bytes of one `DeclarationUpload`, kept only while they are needed.

    First the file as uploaded (a million rows is ~75 MB); once the check accepts it, only what
    the check accepted: the declarants, one line each, as the import writes them (so what is
    imported is exactly what was previewed, and the file is not read twice). The row is deleted
    when the upload is imported, refused, discarded or fails.
    """

    __tablename__ = "declaration_upload_file"

    upload_id: Mapped[int] = mapped_column(ForeignKey("declaration_upload.id"), primary_key=True)
    #: The file as uploaded, until it has been checked.
    original: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: The checked declarants (see `service.declarations.CHECKED_COLUMNS`), zlib-compressed.
    checked: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class Declarant(Model):
    """One declarant of one year: the unit the lottery counts and draws (one entry each)."""

    __tablename__ = "declarant"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    roc_year: Mapped[int] = mapped_column(Integer)
    #: The opaque public case number, `<ROC year>-<digits>`, assigned in random order.
    case_number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    #: The national ID, sealed (AES-256-GCM under the data key, bound to office and year): read it
    #: with `service.sealing.national_id_of` (or `.national_id`), never from the column.
    national_id_sealed: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 (hex) of the national ID under a key derived from the data key: finds a
    #: declarant by ID and keeps one declarant per ID, office and year.
    national_id_hmac: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(100))
    declaration_type: Mapped[str] = mapped_column(String(32))
    type_label: Mapped[str] = mapped_column(String(64))
    stratum: Mapped[str] = mapped_column(String(32))
    declared_on: Mapped[date] = mapped_column(Date)
    #: Every filing merged into this declarant: [{"row", "type", "label", "date"}].
    filings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    upload_id: Mapped[int] = mapped_column(ForeignKey("declaration_upload.id"))
    excluded_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    excluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    excluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("office_id", "roc_year", "case_number"),
        UniqueConstraint("office_id", "roc_year", "national_id_hmac"),
        CheckConstraint(
            "(excluded_reason IS NULL) = (excluded_at IS NULL)",
            name="exclusion_complete",
        ),
        # The population of a year, in case-number order: counting it by stratum and writing its
        # population.tsv read this index alone, never the million rows behind it (SQLite takes
        # it as covering only with `excluded_reason` in it, though here that is always NULL).
        # The unique indexes above serve every lookup by office.
        Index(
            "ix_declarant_population",
            "office_id",
            "roc_year",
            "case_number",
            "stratum",
            "excluded_reason",
            sqlite_where=text("excluded_reason IS NULL"),
            postgresql_where=text("excluded_reason IS NULL"),
        ),
    )

    @property
    def excluded(self) -> bool:
        """True when the declarant is left out of the population (with a recorded reason)."""
        return self.excluded_reason is not None

    @property
    def national_id(self) -> str:
        """The national ID in plain text (opened by `service.sealing.national_id_of`)."""
        from service.sealing import national_id_of

        return national_id_of(self)


class Draw(Model):
    """A draw from one office's declarants of one year, from draft to completion."""

    __tablename__ = "draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    #: The public identifier in every URL and document (protocol `draw_id`).
    draw_id: Mapped[str] = mapped_column(String(64), unique=True)
    roc_year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    #: Review rate in basis points: 1000 = 10%.
    rate_bp: Mapped[int] = mapped_column(Integer, default=1000)
    rounding: Mapped[str] = mapped_column(String(8), default="up")
    grouping: Mapped[str] = mapped_column(String(12), default="pooled")
    #: Comparison stage rate in basis points of the review stage; NULL = no comparison stage.
    comparison_rate_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Ten-sided dice rolled live; NULL = no dice.
    dice_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    use_drand: Mapped[bool] = mapped_column(Boolean, default=True)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    min_notice_hours: Mapped[int] = mapped_column(Integer, default=24)
    #: Minutes after `scheduled_at` during which dice and the secret are accepted (protocol §5).
    input_window_minutes: Mapped[int] = mapped_column(Integer, default=20)
    witnesses: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # --- fixed by the announcement (the database refuses to change them afterwards) ---
    #: The frozen `population.tsv` bytes.
    population_tsv: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    population_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The canonical announcement bytes as published, and its `.sig` file.
    announcement: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    announcement_sig: Mapped[str | None] = mapped_column(Text, nullable=True)
    announcement_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: AES-GCM sealed 64-hex secret (see `service.sealing`); opened only at the reveal.
    sealed_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    commitment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    drand_round: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The key (by key id) that signed the announcement and will sign the result.
    signing_key_id: Mapped[str | None] = mapped_column(String(8), nullable=True)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    announced_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    #: When entering dice and the secret closes (protocol §4), as announced; NULL before this rule.
    inputs_close_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: protocol §2a: `bindings.tsv` (which case number is whose, committed), its digest (in the
    #: announcement) and every entry's salt, sealed as one blob (see `service.bindings`); the two
    #: large ones are read only when asked for.
    bindings_tsv: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    bindings_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sealed_salts: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)

    # --- the live draw, step by step (the stage display follows these) ---
    live_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dice: Mapped[str | None] = mapped_column(String(100), nullable=True)
    dice_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revealed_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    secret_revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The verified drand beacon: {"round", "randomness", "signature"}.
    drand_beacon: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: Fixed when the last input is recorded, so recomputing after a crash gives the same bytes.
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: How many selections the stage display has revealed so far.
    revealed_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Before v2 the operator typed witnesses' names here; no longer written (shown as the operator's
    #: record). Witnesses now confirm themselves: `DrawWitnessConfirmation`.
    witness_confirmations: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)

    # --- the published result ---
    result: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    result_sig: Mapped[str | None] = mapped_column(Text, nullable=True)
    result_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seed: Mapped[str | None] = mapped_column(String(64), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Log indices of this draw's events, for the bundle's inclusion proofs.
    announced_log_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completed_log_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    abandoned_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    office: Mapped[Office] = relationship()

    __table_args__ = (
        CheckConstraint(
            "status = 'draft' OR "
            "(announcement IS NOT NULL AND population_tsv IS NOT NULL AND sealed_secret IS NOT NULL)",
            name="announced_has_documents",
        ),
        CheckConstraint("status != 'completed' OR result IS NOT NULL", name="completed_has_result"),
        CheckConstraint("status != 'abandoned' OR abandoned_reason IS NOT NULL", name="abandoned_has_reason"),
        CheckConstraint(f"status IN {DRAW_STATUSES}", name="status"),
        CheckConstraint(f"rounding IN {ROUNDING}", name="rounding"),
        CheckConstraint(f"grouping IN {GROUPING}", name="grouping"),
        CheckConstraint("rate_bp BETWEEN 500 AND 10000", name="rate_floor"),
        CheckConstraint("comparison_rate_bp IS NULL OR comparison_rate_bp BETWEEN 1 AND 10000", name="comparison"),
        CheckConstraint("dice_count IS NULL OR dice_count BETWEEN 1 AND 100", name="dice_count"),
        CheckConstraint("dice_count IS NOT NULL OR use_drand", name="some_public_entropy"),
        CheckConstraint("min_notice_hours >= 0", name="notice"),
        CheckConstraint("input_window_minutes BETWEEN 1 AND 120", name="input_window"),
        CheckConstraint("inputs_close_at IS NULL OR inputs_close_at > scheduled_at", name="inputs_close_after_start"),
    )


class DrandRound(Model):
    """A drand quicknet round the service has verified (public data, kept so that an abandoned
    draw's outcome can be shown once its round is out; verified again whenever it is read)."""

    __tablename__ = "drand_round"

    round: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    randomness: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(96))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SigningKey(Model):
    """A public office key; its private half lives encrypted under `keys/` (never in the database)."""

    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(8), unique=True)
    vkey: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (CheckConstraint("status IN ('active', 'retired')", name="status"),)


class LogEntry(Model):
    """One leaf of the transparency log. Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "log_entry"

    #: The leaf index, from 0, without gaps.
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The canonical JSON of the event (protocol §10).
    entry: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint('"index" >= 0', name="index"),)


class Checkpoint(Model):
    """A signed checkpoint over the log's first `size` leaves. Append-only."""

    __tablename__ = "log_checkpoint"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    #: The signed note, exactly as served at /log/checkpoint.
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewCase(Model):
    """One declaration under substantive review: drawn by a draw, or a case-based check (個案查核).

    The row holds the current state (a projection of its events, `service.reviews.replay`); the
    history is `ReviewEvent`. Triggers keep the identifying columns fixed, refuse deletion and
    refuse any change of the projection that does not come with a new event.
    """

    __tablename__ = "review_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    #: The draw that selected the declarant; NULL for a case-based check.
    draw_pk: Mapped[int | None] = mapped_column(ForeignKey("draw.id"), nullable=True, index=True)
    declarant_id: Mapped[int] = mapped_column(ForeignKey("declarant.id"), index=True)
    roc_year: Mapped[int] = mapped_column(Integer)
    #: The declarant's public case number, copied when the case is opened.
    case_number: Mapped[str] = mapped_column(String(64))
    #: `comparison` when the comparison stage (前後年度比對) selected the declarant too.
    stage: Mapped[str] = mapped_column(String(16), default="review")
    origin: Mapped[str] = mapped_column(String(16), default="lottery")
    #: The `draw_id` its `review.recorded` log events carry: the draw's, or for a case-based check
    #: the pseudo id `case-based.<office slug>.<ROC year>` (see `service.reviews.case_based_log_id`).
    log_draw_id: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(24), default="drawn")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True, index=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: The fine recorded by the latest effective `fined` event (NT$), and its ground (Act Art. 12).
    fine_amount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fine_ground: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: The sequence of the latest event the projected columns above were computed from: a trigger
    #: refuses any change of them that does not come with a new event (service/triggers.py V3).
    last_event_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    office: Mapped[Office] = relationship()
    draw: Mapped[Draw | None] = relationship()
    declarant: Mapped[Declarant] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    events: Mapped[list["ReviewEvent"]] = relationship(
        back_populates="case", order_by="ReviewEvent.sequence", foreign_keys="ReviewEvent.case_id"
    )

    __table_args__ = (
        UniqueConstraint("draw_pk", "declarant_id"),
        CheckConstraint(f"stage IN {REVIEW_STAGES}", name="stage"),
        CheckConstraint(f"origin IN {REVIEW_ORIGINS}", name="origin"),
        CheckConstraint(f"state IN {REVIEW_STATES}", name="state"),
        CheckConstraint("(origin = 'lottery') = (draw_pk IS NOT NULL)", name="origin_matches_draw"),
        CheckConstraint("fine_amount IS NULL OR fine_amount > 0", name="fine_amount"),
    )


class ReviewEvent(Model):
    """One entry of a case's history. Append-only: triggers refuse UPDATE and DELETE.

    A correction is a new event whose `corrects_id` names the event it corrects. Each event's
    full record (with `salt`) hashes to `record_digest`, which the transparency log holds in a
    `review.recorded` entry at `log_index` (protocol §10).
    """

    __tablename__ = "review_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("review_case.id"), index=True)
    #: 1, 2, 3… within the case, without gaps.
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    #: NULL for the event that opens the case. A correction restates the event it corrects:
    #: its states, note, due date and fine replace that event's.
    from_state: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_state: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The reason or note, as the actor wrote it.
    note: Mapped[str] = mapped_column(Text, default="")
    #: The next due date set by this event.
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: For an assignment: who the case is assigned to (NULL = unassigned).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    fine_amount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fine_ground: Mapped[str | None] = mapped_column(String(32), nullable=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("review_event.id"), nullable=True)
    #: 32 random bytes (hex) in the hashed record, so a digest reveals nothing by guessing.
    salt: Mapped[str] = mapped_column(String(64))
    record_digest: Mapped[str] = mapped_column(String(64))
    log_index: Mapped[int] = mapped_column(Integer, unique=True)

    case: Mapped[ReviewCase] = relationship(back_populates="events", foreign_keys=[case_id])
    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    corrects: Mapped["ReviewEvent | None"] = relationship(remote_side=[id], foreign_keys=[corrects_id])

    __table_args__ = (
        UniqueConstraint("case_id", "sequence"),
        CheckConstraint("sequence >= 1", name="sequence"),
        CheckConstraint(f"kind IN {REVIEW_EVENT_KINDS}", name="kind"),
        CheckConstraint(f"to_state IN {REVIEW_STATES}", name="to_state"),
        CheckConstraint("kind != 'opened' OR from_state IS NULL", name="opened_has_no_origin_state"),
        CheckConstraint("kind NOT IN ('transition', 'assignment') OR from_state IS NOT NULL", name="from_state"),
        CheckConstraint("(kind = 'correction') = (corrects_id IS NOT NULL)", name="correction_names_event"),
        CheckConstraint("(fine_amount IS NULL) = (fine_ground IS NULL)", name="fine_complete"),
        CheckConstraint("fine_amount IS NULL OR (fine_amount > 0 AND to_state = 'fined')", name="fine_only_fined"),
        CheckConstraint(
            "kind NOT IN ('transition', 'correction') OR to_state != 'fined' OR fine_amount IS NOT NULL",
            name="fined_has_fine",
        ),
        CheckConstraint("log_index >= 0", name="log_index"),
    )


class DrawWitness(Model):
    """Which signed-in user is which announced witness of a draw: written once, at the announcement.

    Append-only (triggers refuse UPDATE and DELETE): who may confirm cannot change afterwards.
    """

    __tablename__ = "draw_witness"

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_pk: Mapped[int] = mapped_column(ForeignKey("draw.id"), index=True)
    #: 1, 2, 3… in the announced order.
    position: Mapped[int] = mapped_column(Integer)
    #: The line as announced (the announcement's `witnesses`).
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)

    user: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("draw_pk", "name"),
        UniqueConstraint("draw_pk", "user_id"),
        UniqueConstraint("draw_pk", "position"),
    )


class DrawWitnessConfirmation(Model):
    """A witness's confirmation of a completed draw, from their own sign-in. Append-only.

    Its `draw.witness_confirmed` log event is at `log_index`, written in the same transaction.
    """

    __tablename__ = "draw_witness_confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_pk: Mapped[int] = mapped_column(ForeignKey("draw.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: The witness's name as announced (the log event's `witness`).
    witness: Mapped[str] = mapped_column(String(100))
    log_index: Mapped[int] = mapped_column(Integer, unique=True)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("draw_pk", "witness"), CheckConstraint("log_index >= 0", name="log_index"))


class WitnessCosignature(Model):
    """A witness's C2SP cosignature on one of the office's checkpoints (`service.witnessing`).

    Stored only after it verified against the configured witness key and the stored checkpoint
    note. Append-only: a cosignature, once received, is evidence and stays.
    """

    __tablename__ = "witness_cosignature"

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_size: Mapped[int] = mapped_column(ForeignKey("log_checkpoint.size"), index=True)
    #: The witness's name, as its signature line carries it.
    witness_name: Mapped[str] = mapped_column(String(255))
    #: The witness key's 4-byte key id, as 8 hex digits.
    key_id: Mapped[str] = mapped_column(String(8))
    #: The cosignature's own timestamp (seconds since the Unix epoch, signed by the witness).
    timestamp: Mapped[int] = mapped_column(BigInteger)
    #: The signature line exactly as the witness sent it (`— <name> <base64>`, no newline).
    line: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("checkpoint_size", "witness_name", "key_id"),
        CheckConstraint("timestamp >= 0", name="timestamp"),
    )


def _install_triggers() -> None:
    from service.triggers import install_with_metadata

    install_with_metadata(db.metadata)


_install_triggers()


class UserSession(Model):
    """A signed-in session, kept on the server so that signing out (or an admin) can end it."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: SHA-256 of the random token in the session cookie; the token itself is not stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class AuthEvent(Model):
    """A sign-in, failure, lockout, second-factor step or sign-out."""

    __tablename__ = "auth_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True, index=True)
    username: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginCounter(Model):
    """A sign-in counter every worker and host shares when there is no Redis (`service.throttle`):
    attempts per address in a time window, or failures in a row of an account or an address."""

    __tablename__ = "login_counter"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    #: Seconds since the epoch (by `service.clock`) of the last counted event.
    last_at: Mapped[int] = mapped_column(Integer, default=0)
    #: The row means nothing after this moment (seconds since the epoch) and is purged.
    expires_at: Mapped[int] = mapped_column(Integer, index=True)


class RecoveryCode(Model):
    """A single-use code that stands in for the authenticator app's 6-digit code."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    #: SHA-256 (hex) of the code (80 random bits, so a fast hash is enough); the code is not kept.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The code sealed for showing it once, right after it is made; emptied when shown.
    sealed_for_display: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


API_TOKEN_SCOPES = ("read", "write")


class ApiToken(Model):
    """A named API token of a user for the JSON API: it expires, can be revoked, and is read-only
    or read-write. Only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8), default="read")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()

    __table_args__ = (CheckConstraint(f"scope IN {API_TOKEN_SCOPES}", name="scope"),)
