"""managed districts (venue.district references them), jurisdiction districts as rows, district moves,
and removed_at on venues, floors and terminals

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:10:00

Data: the 16 Shanghai districts are seeded. Each existing venue.district and jurisdiction district is mapped
to the list case-insensitively (English name, Chinese name or code; surrounding spaces and control
characters such as NUL dropped). A value that names no district stops the upgrade with the list of
offending rows, nothing changed: fix them, or map them explicitly with
SIGHTLINE_DISTRICT_MAP="Nowhere=Huangpu;Old name=Xuhui" (left side as stored, right side a district).
"""
import os
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Frozen copy of accounts.districts.SHANGHAI_DISTRICTS as of this revision.
DISTRICTS = (
    ("huangpu", "Huangpu", "黄浦区"), ("xuhui", "Xuhui", "徐汇区"), ("changning", "Changning", "长宁区"),
    ("jingan", "Jing'an", "静安区"), ("putuo", "Putuo", "普陀区"), ("hongkou", "Hongkou", "虹口区"),
    ("yangpu", "Yangpu", "杨浦区"), ("minhang", "Minhang", "闵行区"), ("baoshan", "Baoshan", "宝山区"),
    ("jiading", "Jiading", "嘉定区"), ("pudong", "Pudong", "浦东新区"), ("jinshan", "Jinshan", "金山区"),
    ("songjiang", "Songjiang", "松江区"), ("qingpu", "Qingpu", "青浦区"), ("fengxian", "Fengxian", "奉贤区"),
    ("chongming", "Chongming", "崇明区"),
)
ALIASES = {"pudong new area": "Pudong", "pudongxinqu": "Pudong", "jing an": "Jing'an"}


def key(value):
    """Comparison form: control characters dropped, trimmed, case-folded, spaces collapsed."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", "", value or "").strip().casefold().split())


def resolver():
    """A function from a stored value to a canonical district name, or None."""
    table = {}
    for code, name, zh in DISTRICTS:
        for k in (code, key(name), zh, zh.removesuffix("区"), zh.removesuffix("新区"), key(name) + " district",
                  key(name).replace("'", "")):
            table[k] = name
    for alias, name in ALIASES.items():
        table[alias] = name
    explicit = {}
    for pair in filter(None, os.environ.get("SIGHTLINE_DISTRICT_MAP", "").split(";")):
        old, _, new = pair.partition("=")
        target = table.get(key(new))
        if target is None:
            raise RuntimeError(f"SIGHTLINE_DISTRICT_MAP: '{new}' is not a district")
        explicit[key(old)] = target
    return lambda value: explicit.get(key(value)) or table.get(key(value))


def upgrade():
    bind = op.get_bind()
    resolve = resolver()
    venue = sa.table('venue', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('district', sa.String))
    jurisdiction = sa.table('jurisdiction', sa.column('id', sa.Integer), sa.column('name', sa.String),
                            sa.column('districts', sa.JSON))
    venue_rows = bind.execute(sa.select(venue.c.id, venue.c.name, venue.c.district)).all()
    jurisdiction_rows = bind.execute(sa.select(jurisdiction.c.id, jurisdiction.c.name,
                                               jurisdiction.c.districts)).all()
    unknown = [f"venue {row_id} ({name!r}): district {district!r}" for row_id, name, district in venue_rows
               if resolve(district) is None]
    for row_id, name, districts in jurisdiction_rows:
        if isinstance(districts, str):
            import json
            districts = json.loads(districts)
        unknown += [f"jurisdiction {row_id} ({name!r}): district {d!r}" for d in districts or []
                    if resolve(d) is None]
    if unknown:
        raise RuntimeError("these values name no district of the managed list; fix them or map them with "
                           "SIGHTLINE_DISTRICT_MAP='old=District;...' and upgrade again:\n  " + "\n  ".join(unknown))

    districts = op.create_table(
        'districts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=50), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('name_zh', sa.String(length=100), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_districts')),
        sa.UniqueConstraint('code', name=op.f('uq_districts_code')),
        sa.UniqueConstraint('name', name=op.f('uq_districts_name')),
        sa.UniqueConstraint('name_zh', name=op.f('uq_districts_name_zh')),
    )
    op.bulk_insert(districts, [{"id": n, "code": code, "name": name, "name_zh": zh, "position": n}
                               for n, (code, name, zh) in enumerate(DISTRICTS, start=1)])
    ids = {name: n for n, (_code, name, _zh) in enumerate(DISTRICTS, start=1)}
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('districts', 'id'), :n)"), {"n": len(DISTRICTS)})

    links = op.create_table(
        'jurisdiction_district',
        sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
        sa.Column('district_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_jurisdiction_district_district_id_districts'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdiction.id'],
                                name=op.f('fk_jurisdiction_district_jurisdiction_id_jurisdiction'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('jurisdiction_id', 'district_id', name=op.f('pk_jurisdiction_district')),
    )
    op.create_index(op.f('ix_jurisdiction_district_district_id'), 'jurisdiction_district', ['district_id'])
    link_rows = set()
    for row_id, _name, names in jurisdiction_rows:
        if isinstance(names, str):
            import json
            names = json.loads(names)
        link_rows |= {(row_id, ids[resolve(d)]) for d in names or []}
    if link_rows:
        op.bulk_insert(links, [{"jurisdiction_id": j, "district_id": d} for j, d in sorted(link_rows)])
    with op.batch_alter_table('jurisdiction', schema=None) as batch_op:
        batch_op.drop_column('districts')

    for row_id, _name, district in venue_rows:
        if resolve(district) != district:
            bind.execute(venue.update().where(venue.c.id == row_id).values(district=resolve(district)))

    with op.batch_alter_table('venue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_venue_district_districts'), 'districts', ['district'], ['name'],
                                    onupdate='CASCADE', ondelete='RESTRICT')
        batch_op.create_index('ix_venue_district_type', ['district', 'type'])
    with op.batch_alter_table('floor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))

    op.create_table(
        'district_move',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('venue_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('venue_name', sa.String(length=200), nullable=False),
        sa.Column('from_district', sa.String(length=100), nullable=False),
        sa.Column('to_district', sa.String(length=100), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_district_move_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_district_move')),
    )
    with op.batch_alter_table('district_move', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_district_move_venue_id'), ['venue_id'])
        batch_op.create_index(batch_op.f('ix_district_move_from_district'), ['from_district'])
        batch_op.create_index(batch_op.f('ix_district_move_to_district'), ['to_district'])


def downgrade():
    op.drop_table('district_move')
    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
    with op.batch_alter_table('floor', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
    with op.batch_alter_table('venue', schema=None) as batch_op:
        batch_op.drop_index('ix_venue_district_type')
        batch_op.drop_constraint(batch_op.f('fk_venue_district_districts'), type_='foreignkey')
        batch_op.drop_column('removed_at')
    with op.batch_alter_table('jurisdiction', schema=None) as batch_op:
        batch_op.add_column(sa.Column('districts', sa.JSON(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT jd.jurisdiction_id, d.name FROM jurisdiction_district jd "
                                "JOIN districts d ON d.id = jd.district_id")).all()
    by_jurisdiction = {}
    for jurisdiction_id, name in rows:
        by_jurisdiction.setdefault(jurisdiction_id, []).append(name)
    jurisdiction = sa.table('jurisdiction', sa.column('id', sa.Integer), sa.column('districts', sa.JSON))
    for jurisdiction_id in [r[0] for r in bind.execute(sa.select(jurisdiction.c.id)).all()]:
        bind.execute(jurisdiction.update().where(jurisdiction.c.id == jurisdiction_id)
                     .values(districts=sorted(by_jurisdiction.get(jurisdiction_id, []))))
    with op.batch_alter_table('jurisdiction', schema=None) as batch_op:
        batch_op.alter_column('districts', existing_type=sa.JSON(), nullable=False)
    op.drop_index(op.f('ix_jurisdiction_district_district_id'), table_name='jurisdiction_district')
    op.drop_table('jurisdiction_district')
    op.drop_table('districts')
