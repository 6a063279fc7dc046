"""No secret in an alert row or an outbox row: a receiver's signing secret and the token in a
robot's URL are read from the subscription or the official's contact when the worker sends.

`alerts.secret` goes; receivers' URLs already stored in alerts and in the outbox's delivery
and bundle jobs are shown without their user info, query and fragment, with a digest of the whole
(`shared.webhooks.shown_address`), and the outbox's delivery jobs lose their `secret`.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADDRESSED = "('webhook', 'dingtalk', 'wecom')"


def shown(column: str) -> str:
    """SQL of `shared.webhooks.shown_address` for a URL with something to hide."""
    return (
        f"regexp_replace({column}, "
        r"'^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@?#]*@)?([^?#]*)([?#].*)?$', '\1\3')"
        f" || '#' || left(encode(sha256(convert_to({column}, 'UTF8')), 'hex'), 12)"
    )


def upgrade() -> None:
    """Apply this revision."""
    op.drop_column("alerts", "secret")
    op.execute(
        f"UPDATE alerts SET recipient = {shown('recipient')} "
        f"WHERE channel::text IN {ADDRESSED} AND recipient ~ '^[a-zA-Z][a-zA-Z0-9+.-]*://' "
        r"AND recipient ~ '[?#@]'"
    )
    to = "payload->'args'->0->>'to'"
    op.execute(
        "UPDATE outbox_messages SET payload = jsonb_set(payload #- '{args,0,secret}', "
        f"'{{args,0,to}}', to_jsonb({shown(to)})) "
        f"WHERE job = 'deliver_alert' AND payload->'args'->0->>'channel' IN {ADDRESSED} "
        f"AND {to} ~ '^[a-zA-Z][a-zA-Z0-9+.-]*://' AND {to} ~ '[?#@]'"
    )
    held = "payload->'args'->>1"
    op.execute(
        "UPDATE outbox_messages SET "
        f"payload = jsonb_set(payload, '{{args,1}}', to_jsonb({shown(held)})), "
        "job_id = 'flush-bundle:' || (payload->'args'->>0) || ':' || "
        f"{shown(held)} || ':' || regexp_replace(job_id, '^.*:', '') "
        f"WHERE job = 'flush_bundle' AND payload->'args'->>0 IN {ADDRESSED} "
        f"AND {held} ~ '^[a-zA-Z][a-zA-Z0-9+.-]*://' AND {held} ~ '[?#@]'"
    )
    op.execute(
        "UPDATE outbox_messages SET payload = payload #- '{args,0,secret}' "
        "WHERE job = 'deliver_alert' AND payload->'args'->0 ? 'secret'"
    )


def downgrade() -> None:
    """Revert this revision (the secrets are not put back: deliveries read them at send
    time either way)."""
    op.add_column("alerts", sa.Column("secret", sa.String(500), nullable=True))
