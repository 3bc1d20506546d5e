"""Bindings of case numbers to declarants (protocol §2a)

Revision ID: b1c2d3e4f5a6
Revises: a7c1d2e3f401
Create Date: 2026-12-01 16:30:00.000000

A draw announced from now on stores its `bindings.tsv`, the file's digest (which the
announcement carries) and the salts of its entries, sealed. Draws announced before have none:
their announcements commit to no bindings, and the self-check does not ask for them.
The columns are added in place (`ALTER TABLE … ADD COLUMN`), so SQLite keeps the draw's triggers.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1c2d3e4f5a6'
down_revision = 'a7c1d2e3f401'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('draw', sa.Column('bindings_tsv', sa.LargeBinary(), nullable=True))
    op.add_column('draw', sa.Column('bindings_digest', sa.String(length=64), nullable=True))
    op.add_column('draw', sa.Column('sealed_salts', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # In place on both databases (SQLite 3.35+): a batch rebuild would drop the draw's triggers.
    for column in ('sealed_salts', 'bindings_digest', 'bindings_tsv'):
        op.execute(f'ALTER TABLE draw DROP COLUMN {column}')
