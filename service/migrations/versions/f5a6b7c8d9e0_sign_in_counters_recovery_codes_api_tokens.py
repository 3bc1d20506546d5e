"""Shared sign-in counters, recovery codes, named API tokens with expiry and scope

Revision ID: f5a6b7c8d9e0
Revises: e4f5a6b7c8d9
Create Date: 2026-12-01 18:00:00.000000

Three new tables; no existing table is rebuilt (so no trigger is touched). A user's one API
token (`user_account.api_token_hash`) moves into `api_token` as a read-write token named
"legacy" that expires 90 days after this upgrade; the old columns are emptied, no longer read,
and kept so the downgrade can move the token back.
"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f5a6b7c8d9e0'
down_revision = 'e4f5a6b7c8d9'
branch_labels = None
depends_on = None


# Whole, as Alembic wrote it: an applied migration records what ran, so it is not reshaped later.
def upgrade() -> None:
    op.create_table(
        'login_counter',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('last_at', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_counter')),
    )
    with op.batch_alter_table('login_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_counter_expires_at'), ['expires_at'], unique=False)
    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('sealed_for_display', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_recovery_code_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_code_code_hash')),
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name=op.f('ck_api_token_scope')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_api_token_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash')),
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    connection = op.get_bind()
    now = datetime.now(UTC).replace(microsecond=0)
    sqlite = connection.dialect.name == "sqlite"

    def stamp(moment: datetime) -> datetime:
        return moment.replace(tzinfo=None) if sqlite else moment

    rows = connection.execute(
        sa.text("SELECT id, api_token_hash, api_token_created_at FROM user_account WHERE api_token_hash IS NOT NULL")
    ).all()
    for user_id, token_hash, created_at in rows:
        connection.execute(
            sa.text(
                "INSERT INTO api_token (user_id, name, token_hash, scope, created_at, expires_at) "
                "VALUES (:user_id, 'legacy', :token_hash, 'write', :created_at, :expires_at)"
            ),
            {
                "user_id": user_id,
                "token_hash": token_hash,
                "created_at": created_at or stamp(now),
                "expires_at": stamp(now + timedelta(days=90)),
            },
        )
    connection.execute(sa.text("UPDATE user_account SET api_token_hash = NULL, api_token_created_at = NULL"))


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT user_id, token_hash, created_at FROM api_token WHERE revoked_at IS NULL ORDER BY created_at, id"
        )
    ).all()
    for user_id, token_hash, created_at in rows:  # the newest live token of each user wins
        connection.execute(
            sa.text("UPDATE user_account SET api_token_hash = NULL WHERE api_token_hash = :token_hash"),
            {"token_hash": token_hash},
        )
        connection.execute(
            sa.text(
                "UPDATE user_account SET api_token_hash = :token_hash, api_token_created_at = :created_at "
                "WHERE id = :user_id"
            ),
            {"user_id": user_id, "token_hash": token_hash, "created_at": created_at},
        )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
    op.drop_table('api_token')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
    op.drop_table('recovery_code')
    with op.batch_alter_table('login_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_counter_expires_at'))
    op.drop_table('login_counter')
