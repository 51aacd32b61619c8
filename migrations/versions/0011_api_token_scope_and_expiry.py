"""API tokens get a scope (read or write) and an expiry

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:35:00

Tokens issued before this revision could do everything their user may, so they become write tokens; they
expire 90 days after the upgrade (every token now expires), and can be replaced sooner on /tokens.
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.Enum('read', 'write', name='tokenscope', native_enum=False, length=10),
                                      nullable=False, server_default='write'))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    expiry = (datetime.now(UTC) + timedelta(days=90)).replace(tzinfo=None)
    op.execute(sa.text("UPDATE api_token SET expires_at = :expiry").bindparams(expiry=expiry))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('scope', existing_type=sa.String(length=10), existing_nullable=False, server_default=None)


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
