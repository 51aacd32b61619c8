"""compliance: compliance_checks.terminals, the changed terminals of a queued check that only terminals changed

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:45:00

A terminal save on a floor too big to re-check in the save is queued; with the changed codes the worker
evaluates only what they can change (findings.service.evaluate_terminals) instead of the whole floor. Checks
queued before this revision keep NULL: whole floors, as before.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('compliance_checks') as batch:
        batch.add_column(sa.Column('terminals', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('compliance_checks') as batch:
        batch.drop_column('terminals')
