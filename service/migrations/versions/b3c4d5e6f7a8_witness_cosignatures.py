"""Witness cosignatures on the log's checkpoints

Revision ID: b3c4d5e6f7a8
Revises: a6b7c8d9e0f1
Create Date: 2026-12-02 00:20:00.000000

`witness_cosignature`: one C2SP tlog-cosignature line per witness and checkpoint, stored only
after it verified (service/witnessing.py); append-only (service/triggers.py, version 5).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3c4d5e6f7a8'
down_revision = 'a6b7c8d9e0f1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('witness_cosignature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_size', sa.Integer(), nullable=False),
    sa.Column('witness_name', sa.String(length=255), nullable=False),
    sa.Column('key_id', sa.String(length=8), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('timestamp >= 0', name=op.f('ck_witness_cosignature_timestamp')),
    sa.ForeignKeyConstraint(['checkpoint_size'], ['log_checkpoint.size'], name=op.f('fk_witness_cosignature_checkpoint_size_log_checkpoint')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_witness_cosignature')),
    sa.UniqueConstraint('checkpoint_size', 'witness_name', 'key_id', name=op.f('uq_witness_cosignature_checkpoint_size_witness_name_key_id')),
    )
    with op.batch_alter_table('witness_cosignature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_witness_cosignature_checkpoint_size'), ['checkpoint_size'], unique=False)
    # Append-only (service/triggers.py, version 5).
    from service.triggers import statements_for

    for statement in statements_for(op.get_bind().dialect.name, version=5):
        op.execute(statement)


def downgrade() -> None:
    from service.triggers import drop_statements_for

    for statement in drop_statements_for(op.get_bind().dialect.name, version=5):
        op.execute(statement)
    with op.batch_alter_table('witness_cosignature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_witness_cosignature_checkpoint_size'))
    op.drop_table('witness_cosignature')
