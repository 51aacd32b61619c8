"""inventory: floor.version, the random token of a floor's current content (cached overlays and exports key on it)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 05:30:00

Every existing floor gets its own random token.
"""
import uuid

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('floor') as batch:
        batch.add_column(sa.Column('version', sa.String(length=32), nullable=True))
    floor = sa.table('floor', sa.column('id', sa.Integer), sa.column('version', sa.String))
    connection = op.get_bind()
    for (floor_id,) in connection.execute(sa.select(floor.c.id)).all():
        connection.execute(floor.update().where(floor.c.id == floor_id).values(version=uuid.uuid4().hex))
    with op.batch_alter_table('floor') as batch:
        batch.alter_column('version', existing_type=sa.String(length=32), nullable=False)


def downgrade():
    with op.batch_alter_table('floor') as batch:
        batch.drop_column('version')
