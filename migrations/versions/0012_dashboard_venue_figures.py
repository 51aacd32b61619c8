"""dashboard: per-venue figures table, and the index joining a floor's terminals to its plan's decisions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 01:40:00

venue_figures holds derived data only; it starts empty and the app fills it (dashboard.figures.ensure on the
first dashboard read, or `flask dashboard-refresh`).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'venue_figures',
        sa.Column('venue_id', sa.Integer(), nullable=False),
        sa.Column('terminals_before', sa.Integer(), nullable=False),
        sa.Column('terminals_after', sa.Integer(), nullable=False),
        sa.Column('face_before', sa.Integer(), nullable=False),
        sa.Column('face_after', sa.Integer(), nullable=False),
        sa.Column('open_prohibited', sa.Integer(), nullable=False),
        sa.Column('inspected', sa.Boolean(), nullable=False),
        sa.Column('enrolled', sa.Integer(), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['venue_id'], ['venue.id'], name=op.f('fk_venue_figures_venue_id_venue'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('venue_id', name=op.f('pk_venue_figures')),
    )
    op.create_index('ix_plan_decision_plan_id_terminal_code', 'plan_decision', ['plan_id', 'terminal_code'])


def downgrade():
    op.drop_index('ix_plan_decision_plan_id_terminal_code', table_name='plan_decision')
    op.drop_table('venue_figures')
