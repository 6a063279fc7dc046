"""A DEFAULT partition under the audit trail (issue 25): a row dated in a month whose partition
was never made (a clock far off, a loader writing the past) lands there instead of failing the
request it records. Making that month's partition later moves its rows out of the default one:
PostgreSQL refuses to attach a range the default partition holds rows of.

The rows move by DELETE … RETURNING and INSERT, which the append-only trigger would refuse; the
trigger lets a DELETE through on the default partition only, and only while the transaction has
set `audit_entries.moving_out_of_default` (the ensure function does, then clears it).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-12 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_entries_default'
       AND current_setting('audit_entries.moving_out_of_default', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_entries is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""

ENSURE_PARTITION = """
CREATE OR REPLACE FUNCTION audit_entries_ensure_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', day)::date;
    name text := format('audit_entries_%s', to_char(first, 'YYYY_MM'));
    low timestamptz := (first::text || ' 00:00:00+08')::timestamptz;
    high timestamptz := ((first + interval '1 month')::date::text || ' 00:00:00+08')::timestamptz;
    stranded boolean;
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    stranded := EXISTS (
        SELECT 1 FROM audit_entries_default WHERE created_at >= low AND created_at < high
    );
    IF stranded THEN
        CREATE TEMP TABLE audit_entries_moving (LIKE audit_entries) ON COMMIT DROP;
        PERFORM set_config('audit_entries.moving_out_of_default', 'on', true);
        WITH moved AS (
            DELETE FROM audit_entries_default WHERE created_at >= low AND created_at < high
            RETURNING *
        )
        INSERT INTO audit_entries_moving SELECT * FROM moved;
        PERFORM set_config('audit_entries.moving_out_of_default', 'off', true);
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF audit_entries FOR VALUES FROM (%L) TO (%L)',
        name, low, high
    );
    EXECUTE format(
        'CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON %I '
        'FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()',
        name
    );
    IF stranded THEN
        INSERT INTO audit_entries SELECT * FROM audit_entries_moving;
        DROP TABLE audit_entries_moving;
    END IF;
    RETURN true;
END $$
"""


def upgrade() -> None:
    """The default partition with its TRUNCATE guard; the trigger and ensure function that
    move its rows into a month made later."""
    op.execute(APPEND_ONLY)
    op.execute("CREATE TABLE audit_entries_default PARTITION OF audit_entries DEFAULT")
    op.execute(
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries_default "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()"
    )
    op.execute(ENSURE_PARTITION)


def downgrade() -> None:
    """Months for whatever the default partition holds, then the functions of 0039 again."""
    op.execute(
        """
        SELECT audit_entries_ensure_partition(month::date) FROM (
            SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai') AS month
            FROM audit_entries_default
        ) AS months
        """
    )
    op.execute("DROP TABLE audit_entries_default")
    op.execute(
        """
        CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_entries is append-only (% refused)', TG_OP;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
CREATE OR REPLACE FUNCTION audit_entries_ensure_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', day)::date;
    name text := format('audit_entries_%s', to_char(first, 'YYYY_MM'));
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF audit_entries FOR VALUES FROM (%L) TO (%L)',
        name,
        first::text || ' 00:00:00+08',
        (first + interval '1 month')::date::text || ' 00:00:00+08'
    );
    EXECUTE format(
        'CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON %I '
        'FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()',
        name
    );
    RETURN true;
END $$
"""
    )
