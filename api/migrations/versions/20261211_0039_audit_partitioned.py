"""The audit trail partitioned by month (issue 25): native range partitions on `created_at`, one
a month in China's local time (`audit_entries_2026_12`), so a year's trail is twelve tables an
archive can detach and drop whole (`make archive-audit`), and still append-only: a row trigger
on the parent (cloned to every partition, present and future) refuses UPDATE and DELETE, and a
statement trigger on each partition refuses TRUNCATE.

The rows move into the new table in one INSERT … SELECT (the trail of a year-old county: a few
million rows, a minute). Partitions are made from the oldest row's month to 12 months ahead;
the sweep keeps three months ahead from then on (`audit.repository.ensure_partitions`).

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-11 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The function the sweep calls too: make the month's partition of `day` if it is missing, with
# its TRUNCATE guard.
ENSURE_PARTITION = """
CREATE FUNCTION audit_entries_ensure_partition(day date) RETURNS boolean
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


def upgrade() -> None:
    """Build the partitioned table beside the old one, move the rows, swap the names."""
    op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
    op.execute("ALTER TABLE audit_entries RENAME TO audit_entries_unpartitioned")
    op.execute(
        """
        CREATE TABLE audit_entries (
            official_id uuid,
            action varchar(16) NOT NULL,
            method varchar(8) NOT NULL,
            route varchar(200) NOT NULL,
            path varchar(500) NOT NULL,
            object_id uuid,
            status integer NOT NULL,
            client varchar(300),
            ip varchar(64),
            query jsonb NOT NULL,
            id uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT fk_audit_entries_official_id_officials
                FOREIGN KEY (official_id) REFERENCES officials (id)
        ) PARTITION BY RANGE (created_at)
        """
    )
    # the old table's constraint and index names, freed for the new ones
    op.execute(
        "ALTER TABLE audit_entries_unpartitioned "
        "RENAME CONSTRAINT pk_audit_entries TO pk_audit_entries_unpartitioned"
    )
    op.execute(
        "ALTER TABLE audit_entries_unpartitioned DROP CONSTRAINT "
        "fk_audit_entries_official_id_officials"
    )
    for column in ("object_id", "official_id", "updated_at"):
        op.execute(f"DROP INDEX ix_audit_entries_{column}")
    op.execute(
        "ALTER TABLE audit_entries ADD CONSTRAINT pk_audit_entries PRIMARY KEY (id, created_at)"
    )
    for column in ("object_id", "official_id", "updated_at"):
        op.execute(f"CREATE INDEX ix_audit_entries_{column} ON audit_entries ({column})")
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
        "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()"
    )
    op.execute(ENSURE_PARTITION)
    op.execute(
        """
        SELECT audit_entries_ensure_partition(month::date)
        FROM generate_series(
            date_trunc('month', coalesce(
                (SELECT min(created_at) FROM audit_entries_unpartitioned), now()
            ) AT TIME ZONE 'Asia/Shanghai'),
            date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') + interval '12 months',
            interval '1 month'
        ) AS month
        """
    )
    op.execute("INSERT INTO audit_entries SELECT * FROM audit_entries_unpartitioned")
    op.execute("DROP TABLE audit_entries_unpartitioned")


def downgrade() -> None:
    """One table again, with the statement trigger of migration 0010."""
    op.execute("ALTER TABLE audit_entries RENAME TO audit_entries_partitioned")
    op.execute("ALTER TABLE audit_entries_partitioned DROP CONSTRAINT pk_audit_entries")
    op.execute(
        "ALTER TABLE audit_entries_partitioned DROP CONSTRAINT "
        "fk_audit_entries_official_id_officials"
    )
    for column in ("object_id", "official_id", "updated_at"):
        op.execute(f"DROP INDEX ix_audit_entries_{column}")
    op.execute("CREATE TABLE audit_entries (LIKE audit_entries_partitioned INCLUDING DEFAULTS)")
    op.execute("ALTER TABLE audit_entries ADD CONSTRAINT pk_audit_entries PRIMARY KEY (id)")
    op.execute(
        "ALTER TABLE audit_entries ADD CONSTRAINT fk_audit_entries_official_id_officials "
        "FOREIGN KEY (official_id) REFERENCES officials (id)"
    )
    for column in ("object_id", "official_id", "updated_at"):
        op.execute(f"CREATE INDEX ix_audit_entries_{column} ON audit_entries ({column})")
    op.execute("INSERT INTO audit_entries SELECT * FROM audit_entries_partitioned")
    op.execute("DROP TABLE audit_entries_partitioned")
    op.execute("DROP FUNCTION audit_entries_ensure_partition(date)")
    op.execute(
        "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
        " ON audit_entries FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()"
    )
