"""Witnesses sign for themselves: the witness role, who is which witness, their confirmations

Revision ID: c2d3e4f5a6b7
Revises: b1c2d3e4f5a6
Create Date: 2026-12-01 16:30:00.000000

A `witness` role; `draw_witness` (written at the announcement: which user is which announced
witness) and `draw_witness_confirmation` (a witness's own confirmation, with its log index), both
append-only (service/triggers.py, version 4).

Confirmations typed by the operator before this revision stay in `draw.witness_confirmations`,
untouched, and are shown as recorded by the operator: they are not moved into the new table, which
holds only confirmations a witness made from their own sign-in with a `draw.witness_confirmed`
log event. Nothing would tell which user typed an old one, and it has no log entry; a row
without either would claim more than happened.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c2d3e4f5a6b7'
down_revision = 'b1c2d3e4f5a6'
branch_labels = None
depends_on = None

_OLD_ROLES = "role IN ('admin', 'operator', 'reviewer')"
_NEW_ROLES = "role IN ('admin', 'operator', 'reviewer', 'witness')"


def _role_check(old: str, new: str) -> None:
    """Replace the role CHECK of `user_account`.

    On SQLite the constraint is rewritten in the stored schema (SQLite's documented procedure for a
    change that leaves every stored row valid): recreating the table, as batch mode would, is
    refused by the foreign keys that point at it inside the migration's transaction.
    """
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        version = bind.exec_driver_sql('PRAGMA schema_version').scalar_one()
        bind.exec_driver_sql('PRAGMA writable_schema=ON')
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'user_account'",
            (old, new),
        )
        bind.exec_driver_sql(f'PRAGMA schema_version={int(version) + 1}')
        bind.exec_driver_sql('PRAGMA writable_schema=OFF')
        return
    op.drop_constraint(op.f('ck_user_account_role'), 'user_account', type_='check')
    op.create_check_constraint('role', 'user_account', sa.text(new))


def upgrade() -> None:
    _role_check(_OLD_ROLES, _NEW_ROLES)
    op.create_table('draw_witness',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_pk', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['draw_pk'], ['draw.id'], name=op.f('fk_draw_witness_draw_pk_draw')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_draw_witness_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draw_witness')),
    sa.UniqueConstraint('draw_pk', 'name', name=op.f('uq_draw_witness_draw_pk_name')),
    sa.UniqueConstraint('draw_pk', 'user_id', name=op.f('uq_draw_witness_draw_pk_user_id')),
    sa.UniqueConstraint('draw_pk', 'position', name=op.f('uq_draw_witness_draw_pk_position')),
    )
    with op.batch_alter_table('draw_witness', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draw_witness_draw_pk'), ['draw_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_draw_witness_user_id'), ['user_id'], unique=False)
    op.create_table('draw_witness_confirmation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_pk', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('witness', sa.String(length=100), nullable=False),
    sa.Column('log_index', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('log_index >= 0', name=op.f('ck_draw_witness_confirmation_log_index')),
    sa.ForeignKeyConstraint(['draw_pk'], ['draw.id'], name=op.f('fk_draw_witness_confirmation_draw_pk_draw')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_draw_witness_confirmation_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draw_witness_confirmation')),
    sa.UniqueConstraint('draw_pk', 'witness', name=op.f('uq_draw_witness_confirmation_draw_pk_witness')),
    sa.UniqueConstraint('log_index', name=op.f('uq_draw_witness_confirmation_log_index')),
    )
    with op.batch_alter_table('draw_witness_confirmation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draw_witness_confirmation_draw_pk'), ['draw_pk'], unique=False)
    # Both new tables append-only (service/triggers.py, version 4).
    from service.triggers import statements_for

    for statement in statements_for(op.get_bind().dialect.name, version=4):
        op.execute(statement)


def downgrade() -> None:
    from service.triggers import drop_statements_for

    for statement in drop_statements_for(op.get_bind().dialect.name, version=4):
        op.execute(statement)
    with op.batch_alter_table('draw_witness_confirmation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draw_witness_confirmation_draw_pk'))
    op.drop_table('draw_witness_confirmation')
    with op.batch_alter_table('draw_witness', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draw_witness_user_id'))
        batch_op.drop_index(batch_op.f('ix_draw_witness_draw_pk'))
    op.drop_table('draw_witness')
    # The old schema has no witness role: such accounts stay (their sign-in history refers to them),
    # disabled, as reviewers.
    op.execute("UPDATE user_account SET role = 'reviewer', active = false WHERE role = 'witness'")
    _role_check(_NEW_ROLES, _OLD_ROLES)
