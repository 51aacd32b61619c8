"""audit: audit_event.seq, the event's place in the hash chain, given when its transaction seals it at commit

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 10:40:00

Events are now written unsealed and sealed just before their transaction commits (audit.chain.seal_events), so
the chain lock is held only while sealing; ids are given at insert, before sealing, so the chain's order is seq.
Existing events were chained in id order: seq = id keeps them verifying. The append-only triggers now allow
exactly one change: sealing an unsealed event (seq and both hashes from NULL to values, nothing else).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

CHAIN = ("seq", "prev_hash", "record_hash")
CONTENT = ("id", "at", "user_id", "organisation_id", "venue_id", "object_type", "object_id", "action", "before",
           "after")


def _sealing(old_new_same: str) -> str:
    unsealed = " AND ".join(f"OLD.{c} IS NULL" for c in CHAIN)
    sealed = " AND ".join(f"NEW.{c} IS NOT NULL" for c in CHAIN)
    return f"{unsealed} AND {sealed} AND {old_new_same}"


def _drop_guards():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")


def _create_guards(allow_sealing: bool):
    if op.get_bind().dialect.name == "postgresql":
        # Every column but the chain's unchanged (json has no =, jsonb has).
        same = "to_jsonb(NEW) - 'seq' - 'prev_hash' - 'record_hash' = to_jsonb(OLD) - 'seq' - 'prev_hash' - 'record_hash'"
        check = (f"IF TG_OP = 'UPDATE' AND {_sealing(same)} THEN RETURN NEW; END IF;" if allow_sealing else "")
        op.execute(f"""
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN {check} RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
                      FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""")
    else:
        same = " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in CONTENT)
        when = f" WHEN NOT ({_sealing(same)})" if allow_sealing else ""
        op.execute(f"""CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event{when}
                       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")
        op.execute("""CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
                      BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")


def upgrade():
    _drop_guards()
    op.add_column('audit_event', sa.Column('seq', sa.Integer(), nullable=True))
    op.execute("UPDATE audit_event SET seq = id WHERE record_hash IS NOT NULL")
    op.create_index(op.f('ix_audit_event_seq'), 'audit_event', ['seq'], unique=True)
    _create_guards(allow_sealing=True)


def downgrade():
    _drop_guards()
    op.drop_index(op.f('ix_audit_event_seq'), table_name='audit_event')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('seq')
    _create_guards(allow_sealing=False)
