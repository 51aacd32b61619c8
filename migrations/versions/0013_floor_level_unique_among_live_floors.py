"""floors: a level is unique among the venue's floors in use, so a removed floor no longer holds its level

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 05:40:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

LIVE = sa.text("removed_at IS NULL")


def upgrade():
    with op.batch_alter_table('floor', schema=None) as batch_op:
        batch_op.drop_constraint('uq_floor_venue_id', type_='unique')
    op.create_index('uq_floor_live_level', 'floor', ['venue_id', 'level'], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade():
    op.drop_index('uq_floor_live_level', table_name='floor')
    with op.batch_alter_table('floor', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_floor_venue_id', ['venue_id', 'level'])
