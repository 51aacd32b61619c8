"""stable feature ids: zone.key, and an id on every stored outline, wall and opening

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:00:00

Existing zones get the key "zone-<row id>"; stored structure features without an id get
"<kind>-<floor id>-<n>". New ids after this revision are random (see inventory.floorio.new_feature_id),
so the two never collide.
"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('zone', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=100), nullable=True))
    bind = op.get_bind()
    zone = sa.table('zone', sa.column('id', sa.Integer), sa.column('key', sa.String))
    bind.execute(zone.update().values(key=sa.literal('zone-') + sa.cast(zone.c.id, sa.String)))
    with op.batch_alter_table('zone', schema=None) as batch_op:
        batch_op.alter_column('key', existing_type=sa.String(length=100), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_zone_floor_id'), ['floor_id', 'key'])

    floor = sa.table('floor', sa.column('id', sa.Integer), sa.column('structure', sa.JSON))
    for floor_id, structure in bind.execute(sa.select(floor.c.id, floor.c.structure)).all():
        if isinstance(structure, str):
            structure = json.loads(structure)
        changed = False
        taken = {f.get('id') for f in structure or [] if isinstance(f, dict)}
        for n, feature in enumerate(structure or [], start=1):
            if isinstance(feature, dict) and feature.get('id') is None:
                fid = f"{feature.get('properties', {}).get('kind', 'feature')}-{floor_id}-{n}"
                while fid in taken:
                    fid += "x"
                feature['id'] = fid
                taken.add(fid)
                changed = True
        if changed:
            bind.execute(floor.update().where(floor.c.id == floor_id).values(structure=structure))


def downgrade():
    with op.batch_alter_table('zone', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_zone_floor_id'), type_='unique')
        batch_op.drop_column('key')
