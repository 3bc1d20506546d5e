"""Uploaded files in a table of their own; the population index

Revision ID: 4b7e2a91c0d3
Revises: 9eed94e15dcd
Create Date: 2026-12-01 06:30:00.000000

An upload's bytes move out of `declaration_upload` into `declaration_upload_file`: the job's
heartbeat updates the upload's row every few seconds, and SQLite rewrites a whole row (a 75 MB
file with it) on every update. The check now stores what it accepted, which the import writes,
so an upload that was still pending under the old code (parsed, not yet imported) has nothing
checked to import: it is marked failed, and the operator uploads the file again.

`ix_declarant_office_id` gives way to `ix_declarant_population`, a partial index of the
population in case-number order that counting and `population.tsv` read on their own.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4b7e2a91c0d3'
down_revision = '9eed94e15dcd'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('declaration_upload_file',
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('original', sa.LargeBinary(), nullable=True),
    sa.Column('checked', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['upload_id'], ['declaration_upload.id'], name=op.f('fk_declaration_upload_file_upload_id_declaration_upload')),
    sa.PrimaryKeyConstraint('upload_id', name=op.f('pk_declaration_upload_file'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Stored as they are: `checked` is zlib-compressed already, and compressing a 75 MB
        # `original` with pglz (PostgreSQL's default for large values) costs more than it saves
        # for bytes kept a few minutes.
        op.execute("ALTER TABLE declaration_upload_file ALTER COLUMN original SET STORAGE EXTERNAL")
        op.execute("ALTER TABLE declaration_upload_file ALTER COLUMN checked SET STORAGE EXTERNAL")
    op.execute(
        "UPDATE declaration_upload SET status = 'failed' "
        "WHERE status IN ('parsing', 'ready', 'importing')"
    )
    # SQLite (3.35 and later) drops a plain column in place: no copy of the table is needed.
    op.drop_column('declaration_upload', 'content')
    with op.batch_alter_table('declarant', schema=None) as batch_op:
        batch_op.drop_index('ix_declarant_office_id')
        batch_op.create_index(
            'ix_declarant_population',
            ['office_id', 'roc_year', 'case_number', 'stratum', 'excluded_reason'],
            unique=False,
            sqlite_where=sa.text('excluded_reason IS NULL'),
            postgresql_where=sa.text('excluded_reason IS NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('declarant', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_declarant_population',
            sqlite_where=sa.text('excluded_reason IS NULL'),
            postgresql_where=sa.text('excluded_reason IS NULL'),
        )
        batch_op.create_index('ix_declarant_office_id', ['office_id'], unique=False)
    op.add_column('declaration_upload', sa.Column('content', sa.LargeBinary(), nullable=False, server_default=sa.text("''")))
    op.execute(
        "UPDATE declaration_upload SET content = (SELECT original FROM declaration_upload_file "
        "WHERE declaration_upload_file.upload_id = declaration_upload.id AND original IS NOT NULL) "
        "WHERE id IN (SELECT upload_id FROM declaration_upload_file WHERE original IS NOT NULL)"
    )
    op.execute(
        "UPDATE declaration_upload SET status = 'failed' "
        "WHERE status IN ('ready', 'importing')"
    )
    op.drop_table('declaration_upload_file')
