"""National IDs sealed at rest, found by a keyed hash

Revision ID: a6b7c8d9e0f1
Revises: f5a6b7c8d9e0
Create Date: 2026-12-01 18:00:00.000000

`declarant.national_id` (plain text) becomes `national_id_hmac` (HMAC-SHA256 under a key derived
from the data key: the unique constraint per office and year stays on it) and a new
`national_id_sealed` (AES-256-GCM under the data key, see service/sealing.py). The data key comes
from the deployment's settings (SUNSHINE_DATA_KEY / SUNSHINE_DATA_KEY_FILE): run the upgrade with
the key the service will use. The downgrade opens every row again and restores the plain column.

The column is renamed in place rather than the table rebuilt: on SQLite a rebuild is refused by
the foreign keys that point at `declarant` (review cases) inside the migration's transaction.
Uploads still waiting for their import kept plain national IDs in their stored bytes; they are
marked failed and their bytes deleted (the operator uploads the file again).

The declarant rows of a frozen year are rewritten here, so the triggers that guard them are
dropped for the rewrite and every version's triggers installed again afterwards.
"""
from collections.abc import Iterable
from typing import TYPE_CHECKING

from alembic import op
import sqlalchemy as sa

if TYPE_CHECKING:
    from service.sealing import PersonalData


# revision identifiers, used by Alembic.
revision = 'a6b7c8d9e0f1'
down_revision = "f5a6b7c8d9e0"
branch_labels = None
depends_on = None

_OLD_UQ = 'uq_declarant_office_id_roc_year_national_id'
_NEW_UQ = 'uq_declarant_office_id_roc_year_national_id_hmac'


def _sealer() -> 'PersonalData':
    from flask import current_app

    from service.sealing import personal_data

    return personal_data(current_app.extensions['sunshine_settings'])


def _drop_declarant_triggers(bind: sa.Connection) -> None:
    if bind.dialect.name == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS declarant_frozen_update')
        op.execute('DROP TRIGGER IF EXISTS declarant_frozen_delete')
    else:
        op.execute('DROP TRIGGER IF EXISTS declarant_frozen ON declarant')


def _reinstall_triggers(bind: sa.Connection) -> None:
    from service.triggers import reinstall_statements

    for statement in reinstall_statements(bind.dialect.name, up_to=4):
        op.execute(statement)


def _sqlite_schema_replace(bind: sa.Connection, pairs: Iterable[tuple[str, str]]) -> None:
    """Rewrite names and declared lengths in the stored schema of `declarant` (SQLite's documented
    procedure for a change that leaves every stored row valid; as in c2d3e4f5a6b7)."""
    version = bind.exec_driver_sql('PRAGMA schema_version').scalar_one()
    bind.exec_driver_sql('PRAGMA writable_schema=ON')
    for old, new in pairs:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'declarant'",
            (old, new),
        )
    bind.exec_driver_sql(f'PRAGMA schema_version={int(version) + 1}')
    bind.exec_driver_sql('PRAGMA writable_schema=OFF')


def _fail_pending_uploads(bind: sa.Connection) -> None:
    pending = "('parsing', 'ready', 'importing')"
    op.execute(
        "DELETE FROM declaration_upload_file WHERE upload_id IN "
        f"(SELECT id FROM declaration_upload WHERE status IN {pending})"
    )
    op.execute(f"UPDATE declaration_upload SET status = 'failed' WHERE status IN {pending}")
    # What a refused, discarded or failed upload kept is deleted as well (none should remain).
    op.execute('DELETE FROM declaration_upload_file')


def upgrade() -> None:
    bind = op.get_bind()
    sealer = _sealer()
    _fail_pending_uploads(bind)
    _drop_declarant_triggers(bind)
    op.add_column(
        'declarant',
        sa.Column('national_id_sealed', sa.String(length=64), nullable=False, server_default=''),
    )
    rows = bind.execute(sa.text('SELECT id, office_id, roc_year, national_id FROM declarant')).all()
    if bind.dialect.name == 'sqlite':
        op.execute('ALTER TABLE declarant RENAME COLUMN national_id TO national_id_hmac')
        _sqlite_schema_replace(
            bind,
            [
                ('national_id_hmac VARCHAR(10)', 'national_id_hmac VARCHAR(64)'),
                (f'{_OLD_UQ} UNIQUE', f'{_NEW_UQ} UNIQUE'),
            ],
        )
    else:
        op.alter_column('declarant', 'national_id', new_column_name='national_id_hmac', type_=sa.String(length=64))
        op.execute(f'ALTER TABLE declarant RENAME CONSTRAINT {_OLD_UQ} TO {_NEW_UQ}')
    update = sa.text('UPDATE declarant SET national_id_sealed = :sealed, national_id_hmac = :hmac WHERE id = :id')
    values = [
        {
            'id': pk,
            'sealed': sealer.seal(national_id, office_id=office_id, roc_year=roc_year),
            'hmac': sealer.lookup(national_id),
        }
        for pk, office_id, roc_year, national_id in rows
    ]
    if values:
        bind.execute(update, values)
    if bind.dialect.name == 'postgresql':
        op.alter_column('declarant', 'national_id_sealed', server_default=None)
    _reinstall_triggers(bind)


def downgrade() -> None:
    bind = op.get_bind()
    sealer = _sealer()
    _drop_declarant_triggers(bind)
    rows = bind.execute(sa.text('SELECT id, office_id, roc_year, national_id_sealed FROM declarant')).all()
    update = sa.text('UPDATE declarant SET national_id_hmac = :plain WHERE id = :id')
    values = [
        {'id': pk, 'plain': sealer.open(sealed, office_id=office_id, roc_year=roc_year)}
        for pk, office_id, roc_year, sealed in rows
    ]
    if values:
        bind.execute(update, values)
    if bind.dialect.name == 'sqlite':
        op.execute('ALTER TABLE declarant RENAME COLUMN national_id_hmac TO national_id')
        _sqlite_schema_replace(
            bind,
            [
                ('national_id VARCHAR(64)', 'national_id VARCHAR(10)'),
                (f'{_NEW_UQ} UNIQUE', f'{_OLD_UQ} UNIQUE'),
            ],
        )
        # SQLite (3.35 and later) drops a plain column in place.
        op.drop_column('declarant', 'national_id_sealed')
    else:
        op.execute(f'ALTER TABLE declarant RENAME CONSTRAINT {_NEW_UQ} TO {_OLD_UQ}')
        op.alter_column('declarant', 'national_id_hmac', new_column_name='national_id', type_=sa.String(length=10))
        op.drop_column('declarant', 'national_id_sealed')
    _fail_pending_uploads(bind)
    _reinstall_triggers(bind)
