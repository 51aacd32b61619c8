"""inspections and audit hash chain

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:54:36

Inspections (checklist items, evidence photos) and the audit hash chain: each audit event and each signed-off
inspection stores the previous record's hash. Existing audit events are sealed into the chain in id order.
"""
import sqlalchemy as sa
from alembic import op

from audit.chain import backfill_events


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('in_progress', 'signed_off', name='inspectionstatus', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('signed_off_at', sa.DateTime(), nullable=True),
    sa.Column('declared', sa.JSON(), nullable=True),
    sa.Column('found', sa.JSON(), nullable=True),
    sa.Column('verification', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=True),
    sa.Column('record_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['inspector_id'], ['user.id'], name=op.f('fk_inspections_inspector_id_user')),
    sa.ForeignKeyConstraint(['plan_id'], ['plan.id'], name=op.f('fk_inspections_plan_id_plan'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_inspections_venue_id_venue')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_inspections_prev_hash'))
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspections_inspector_id'), ['inspector_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_signed_off_at'), ['signed_off_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_venue_id'), ['venue_id'], unique=False)

    op.create_table('inspection_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=True),
    sa.Column('floor_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('face_recognition', sa.Boolean(), nullable=False),
    sa.Column('expected', sa.Enum('kept', 'removed', 're_aimed', 'installed', name='expected', native_enum=False, length=32), nullable=True),
    sa.Column('expected_heading_deg', sa.Float(), nullable=True),
    sa.Column('expected_pose', sa.JSON(), nullable=True),
    sa.Column('found', sa.Enum('present', 'removed', 'moved', 're_aimed', 'not_declared', name='found', native_enum=False, length=32), nullable=True),
    sa.Column('found_x', sa.Float(), nullable=True),
    sa.Column('found_y', sa.Float(), nullable=True),
    sa.Column('found_heading_deg', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user.id'], name=op.f('fk_inspection_items_answered_by_id_user')),
    sa.ForeignKeyConstraint(['floor_id'], ['floor.id'], name=op.f('fk_inspection_items_floor_id_floor'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_items_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_inspection_items_terminal_id_terminal'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_items'))
    )
    with op.batch_alter_table('inspection_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_items_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('inspection_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('thumbnail_path', sa.String(length=300), nullable=False),
    sa.Column('mime', sa.String(length=50), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('original_name', sa.String(length=200), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_evidence_inspection_id_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['inspection_items.id'], name=op.f('fk_inspection_evidence_item_id_inspection_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_inspection_evidence_uploaded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_evidence'))
    )
    with op.batch_alter_table('inspection_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_evidence_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_evidence_item_id'), ['item_id'], unique=False)

    # The append-only triggers of 0001 are lifted only while existing events get their hashes.
    _drop_audit_guards()
    op.add_column('audit_event', sa.Column('prev_hash', sa.String(length=64), nullable=True))
    op.add_column('audit_event', sa.Column('record_hash', sa.String(length=64), nullable=True))
    backfill_events(op.get_bind())
    op.create_index(op.f('ix_audit_event_prev_hash'), 'audit_event', ['prev_hash'], unique=True)
    _create_audit_guards()


def _create_audit_guards():
    """The append-only triggers on audit_event, as revision 0001 creates them."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
                      FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER audit_event_no_{action.lower()} BEFORE {action} ON audit_event
                           BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")


def _drop_audit_guards():
    """Lift the append-only triggers (the PostgreSQL trigger function stays)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")


def downgrade():
    _drop_audit_guards()
    op.drop_index(op.f('ix_audit_event_prev_hash'), table_name='audit_event')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('record_hash')
        batch_op.drop_column('prev_hash')
    _create_audit_guards()

    with op.batch_alter_table('inspection_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_evidence_item_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_evidence_inspection_id'))

    op.drop_table('inspection_evidence')
    with op.batch_alter_table('inspection_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_items_inspection_id'))

    op.drop_table('inspection_items')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspections_venue_id'))
        batch_op.drop_index(batch_op.f('ix_inspections_status'))
        batch_op.drop_index(batch_op.f('ix_inspections_signed_off_at'))
        batch_op.drop_index(batch_op.f('ix_inspections_inspector_id'))

    op.drop_table('inspections')
