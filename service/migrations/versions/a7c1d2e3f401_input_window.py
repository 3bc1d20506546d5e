"""The input window: dice and the secret close at `inputs_close_at` (protocol §4–§5); drand rounds seen

Revision ID: a7c1d2e3f401
Revises: 4b7e2a91c0d3
Create Date: 2026-12-01 16:40:00.000000

A draft gets the length of its input window (20 minutes by default); an announcement fixes when
the window closes. Draws announced before this revision keep `inputs_close_at` NULL: their
announcements declare no window, and verifiers report their timing as "not declared".
`drand_round` keeps the rounds the service verified, so an abandoned draw's public page can show
what it would have selected once its round is out.
"""
from alembic import op
import sqlalchemy as sa

from service.models import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'a7c1d2e3f401'
down_revision = '4b7e2a91c0d3'
branch_labels = None
depends_on = None

_WINDOW = 'input_window_minutes BETWEEN 1 AND 120'
_CLOSE = 'inputs_close_at IS NULL OR inputs_close_at > scheduled_at'


def upgrade() -> None:
    op.create_table('drand_round',
    sa.Column('round', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('randomness', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=96), nullable=False),
    sa.Column('recorded_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('round', name=op.f('pk_drand_round'))
    )
    if op.get_bind().dialect.name == 'sqlite':
        # Added in place, not by rebuilding the table: a rebuild would drop the draw's triggers
        # and trip the foreign keys of the rows that reference it.
        op.execute(
            'ALTER TABLE draw ADD COLUMN input_window_minutes INTEGER NOT NULL DEFAULT 20 '
            f'CONSTRAINT ck_draw_input_window CHECK ({_WINDOW})'
        )
        op.execute(
            'ALTER TABLE draw ADD COLUMN inputs_close_at DATETIME '
            f'CONSTRAINT ck_draw_inputs_close_after_start CHECK ({_CLOSE})'
        )
        return
    op.add_column('draw', sa.Column('input_window_minutes', sa.Integer(), nullable=False, server_default='20'))
    op.add_column('draw', sa.Column('inputs_close_at', UTCDateTime(), nullable=True))
    op.create_check_constraint(op.f('ck_draw_input_window'), 'draw', _WINDOW)
    op.create_check_constraint(op.f('ck_draw_inputs_close_after_start'), 'draw', _CLOSE)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('ck_draw_inputs_close_after_start'), 'draw', type_='check')
        op.drop_constraint(op.f('ck_draw_input_window'), 'draw', type_='check')
    op.drop_column('draw', 'inputs_close_at')
    op.drop_column('draw', 'input_window_minutes')
    op.drop_table('drand_round')
