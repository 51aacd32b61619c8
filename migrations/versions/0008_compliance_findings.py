"""compliance findings, and the venue and terminal fields the rules need

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:10:00

Venues get a compliance profile (CN by default), a legal entity and a filing status; terminals get
signage type and position, a necessity note, the alternative to face verification, the consent
mechanism, the enrolled-person count and the declared capture zone. The findings table is new.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ENUM = {'native_enum': False, 'length': 32}


def upgrade():
    with op.batch_alter_table('venue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compliance_profile', sa.Enum('CN', 'EU', 'UK', name='complianceprofile', **ENUM),
                                      nullable=False, server_default='CN'))
        batch_op.add_column(sa.Column('legal_entity', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('filing_status', sa.Enum('not_filed', 'filed', 'deregistered',
                                                               name='filingstatus', **ENUM),
                                      nullable=False, server_default='not_filed'))
        batch_op.add_column(sa.Column('filing_date', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_venue_legal_entity'), ['legal_entity'], unique=False)

    with op.batch_alter_table('terminal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signage_type', sa.Enum('warning_sign', 'face_notice', name='signagetype', **ENUM),
                                      nullable=True))
        batch_op.add_column(sa.Column('signage_x', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('signage_y', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('necessity_note', sa.String(length=1000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('alternative_verification', sa.Enum(
            'none', 'card', 'qr_code', 'pin', 'id_document', 'staff_check', name='alternativeverification', **ENUM),
            nullable=True))
        batch_op.add_column(sa.Column('consent_mechanism', sa.Enum(
            'none', 'implied', 'bundled', 'separate_opt_in', 'written', 'legal_basis', name='consentmechanism', **ENUM),
            nullable=True))
        batch_op.add_column(sa.Column('enrolled_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('capture_zone', sa.String(length=100), nullable=True))

    op.create_table(
        'findings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('venue_id', sa.Integer(), nullable=False),
        sa.Column('floor_id', sa.Integer(), nullable=True),
        sa.Column('rule_id', sa.String(length=20), nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('severity', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('terminal_id', sa.Integer(), nullable=True),
        sa.Column('zone_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('message', sa.String(length=1000), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('fixed_at', sa.DateTime(), nullable=True),
        sa.Column('fixed_reason', sa.String(length=200), nullable=True),
        sa.Column('accepted_by_id', sa.Integer(), nullable=True),
        sa.Column('accepted_at', sa.DateTime(), nullable=True),
        sa.Column('justification', sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_findings_venue_id_venue'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['floor_id'], ['floor.id'], name=op.f('fk_findings_floor_id_floor'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['terminal_id'], ['terminal.id'], name=op.f('fk_findings_terminal_id_terminal'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['zone_id'], ['zone.id'], name=op.f('fk_findings_zone_id_zone'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['accepted_by_id'], ['user.id'], name=op.f('fk_findings_accepted_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_findings')),
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_findings_venue_id'), ['venue_id'], unique=False)
        batch_op.create_index('ix_findings_venue_id_status', ['venue_id', 'status'], unique=False)
        batch_op.create_index('ix_findings_venue_id_rule_id_key', ['venue_id', 'rule_id', 'key'], unique=False)


def downgrade():
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_venue_id_rule_id_key')
        batch_op.drop_index('ix_findings_venue_id_status')
        batch_op.drop_index(batch_op.f('ix_findings_venue_id'))
    op.drop_table('findings')

    with op.batch_alter_table('terminal', schema=None) as batch_op:
        for column in ('capture_zone', 'enrolled_count', 'consent_mechanism', 'alternative_verification',
                       'necessity_note', 'signage_y', 'signage_x', 'signage_type'):
            batch_op.drop_column(column)

    with op.batch_alter_table('venue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venue_legal_entity'))
        for column in ('filing_date', 'filing_status', 'legal_entity', 'compliance_profile'):
            batch_op.drop_column(column)
