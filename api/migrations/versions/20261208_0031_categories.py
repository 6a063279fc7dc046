"""The category vocabulary (issue 23 §4): `categories`, seeded with the default list, and every
case's and screening item's free-text category turned into a code.

A free-text value becomes the code it names (the code itself, its Chinese or English name, or
a spelling earlier versions used, such as `land_acquisition`); anything else becomes `other`
and keeps its words in `category_text`, so nothing is lost. The dashboard's counters and each
case's recorded facts follow the codes, merged where two spellings meet in one code.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-08 12:00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from api.categories.vocabulary import DEFAULT_CATEGORIES, OTHER

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spellings of earlier free text (what desks and the old examples typed) → codes.
ALIASES = {
    "land_acquisition": "land.acquisition",
    "land_requisition": "land.acquisition",
    "征地": "land.acquisition",
    "征地补偿": "land.acquisition",
    "土地征收": "land.acquisition",
    "wages": "labour.wages",
    "wage": "labour.wages",
    "unpaid_wages": "labour.wages",
    "工资": "labour.wages",
    "欠薪": "labour.wages",
    "demolition": "urban.demolition",
    "拆迁": "urban.demolition",
    "social_security": "labour.social_security",
    "社保": "labour.social_security",
    "forestry_dispute": "forestry.hill_dispute",
    "hill_dispute": "forestry.hill_dispute",
    "山林纠纷": "forestry.hill_dispute",
    "林权纠纷": "forestry.hill_dispute",
    "pollution": "environment.pollution",
    "housing": "urban.housing",
    "civil_affairs": "civil",
    "courts": "law",
    "litigation": "law.litigation",
}


def _key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def _code_of(text: str, known: dict[str, str]) -> str | None:
    return known.get(_key(text))


def upgrade() -> None:
    """Apply this revision."""
    categories = op.create_table(
        "categories",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("parent", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            r"code ~ '^[a-z][a-z0-9_]{0,30}(\.[a-z][a-z0-9_]{0,30})?$'",
            name=op.f("ck_categories_code_shape"),
        ),
        sa.CheckConstraint(
            "(parent IS NULL AND position('.' in code) = 0)"
            " OR (parent IS NOT NULL AND code LIKE parent || '.%')",
            name=op.f("ck_categories_code_under_parent"),
        ),
        sa.ForeignKeyConstraint(
            ["parent"], ["categories.code"], name=op.f("fk_categories_parent_categories")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_categories")),
    )
    op.bulk_insert(
        categories,
        [
            {
                "code": c.code,
                "parent": c.parent,
                "name": c.name,
                "name_en": c.name_en,
                "position": i,
                "active": True,
            }
            for i, c in enumerate(DEFAULT_CATEGORIES)
        ],
    )
    known = {_key(alias): code for alias, code in ALIASES.items()}
    for c in DEFAULT_CATEGORIES:
        for spelling in (c.code, c.name, c.name_en):
            known.setdefault(_key(spelling), c.code)

    for table in ("cases", "screening_items"):
        op.add_column(table, sa.Column("category_text", sa.String(length=200), nullable=True))
    bind = op.get_bind()
    renames: dict[str, str] = {}
    for table in ("cases", "screening_items"):
        values = bind.execute(sa.text(f"SELECT DISTINCT category FROM {table}")).scalars()
        for old in list(values):
            code = _code_of(old, known)
            if code == old:
                continue
            if code is None:
                bind.execute(
                    sa.text(
                        f"UPDATE {table} SET category = :other, category_text = :old"
                        " WHERE category = :old"
                    ),
                    {"other": OTHER, "old": old},
                )
                renames[old] = OTHER
            else:
                bind.execute(
                    sa.text(f"UPDATE {table} SET category = :code WHERE category = :old"),
                    {"code": code, "old": old},
                )
                renames[old] = code
    for old, code in renames.items():
        _rename_fact(bind, f"category:{old}", f"category:{code}")
    for table in ("cases", "screening_items"):
        op.create_foreign_key(
            op.f(f"fk_{table}_category_categories"), table, "categories", ["category"], ["code"]
        )


def _rename_fact(bind: sa.engine.Connection, old: str, new: str) -> None:
    """Move a dashboard figure to its new key, adding to what is already counted there."""
    bind.execute(
        sa.text(
            "INSERT INTO stat_counters (unit_id, period, day, key, value)"
            " SELECT unit_id, period, day, :new, value FROM stat_counters WHERE key = :old"
            " ON CONFLICT (unit_id, period, day, key)"
            " DO UPDATE SET value = stat_counters.value + excluded.value"
        ),
        {"old": old, "new": new},
    )
    bind.execute(sa.text("DELETE FROM stat_counters WHERE key = :old"), {"old": old})
    bind.execute(
        sa.text(
            "UPDATE case_stat_facts"
            " SET facts = (facts - CAST(:old AS text)) || jsonb_build_object("
            " CAST(:new AS text),"
            " COALESCE((facts ->> CAST(:new AS text))::int, 0)"
            " + (facts ->> CAST(:old AS text))::int)"
            " WHERE facts ? CAST(:old AS text)"
        ),
        {"old": old, "new": new},
    )


def downgrade() -> None:
    """Revert this revision: the codes stay in the cases as their category text."""
    for table in ("cases", "screening_items"):
        op.drop_constraint(op.f(f"fk_{table}_category_categories"), table, type_="foreignkey")
        op.drop_column(table, "category_text")
    op.drop_table("categories")
