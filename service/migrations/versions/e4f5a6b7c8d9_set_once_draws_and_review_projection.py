"""Set-once draw rows; a review case's projection moves only with its history

Revision ID: e4f5a6b7c8d9
Revises: c2d3e4f5a6b7
Create Date: 2026-12-01 16:30:00.000000

`review_case.last_event_sequence` names the latest event a case's projected columns (state,
assignee, due date, fine) were computed from; the version 3 triggers (service/triggers.py)
refuse any change of those columns that does not come with a new event, and make a published
draw row set-once.

This revision comes last in the chain: on SQLite a batch-alter of a table drops its triggers,
so it installs every version's triggers again (those still present are left as they are).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4f5a6b7c8d9'
down_revision = 'c2d3e4f5a6b7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite adds a plain column in place: no copy of the table, so no trigger is lost here.
    op.add_column(
        'review_case',
        sa.Column('last_event_sequence', sa.Integer(), nullable=False, server_default=sa.text('0')),
    )
    op.execute(
        "UPDATE review_case SET last_event_sequence = "
        "(SELECT coalesce(max(sequence), 0) FROM review_event WHERE review_event.case_id = review_case.id)"
    )
    from service.triggers import reinstall_statements

    for statement in reinstall_statements(op.get_bind().dialect.name, up_to=4):
        op.execute(statement)


def downgrade() -> None:
    from service.triggers import drop_statements_for

    for statement in drop_statements_for(op.get_bind().dialect.name, version=3):
        op.execute(statement)
    # SQLite (3.35 and later) drops a plain column in place once no trigger refers to it.
    op.drop_column('review_case', 'last_event_sequence')
