"""compliance checks: re-evaluations of a venue's findings left to the job queue

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:00:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'compliance_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('venue_id', sa.Integer(), nullable=False),
        sa.Column('floor_ids', sa.JSON(), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('queued_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_compliance_checks_venue_id_venue'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_checks')),
    )
    op.create_index(op.f('ix_compliance_checks_venue_id'), 'compliance_checks', ['venue_id'])


def downgrade():
    op.drop_index('ix_compliance_checks_venue_id', table_name='compliance_checks')
    op.drop_table('compliance_checks')
