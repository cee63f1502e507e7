"""many customers, many agreements: customers, agreements, versions keyed by agreement

The existing agreement chain becomes the agreement `default` (it covered every customer, so
tickets of every customer keep getting it); running tickets keep their pinned version numbers.

Revision ID: 0013
Revises: 0005
Create Date: 2026-12-02 14:50:00
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYED = (("agreement_versions", "number"), ("amendment_commits", "version"))


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreements_customer_id"), ["customer_id"])
    op.execute(
        "INSERT INTO agreements (id, customer_id, is_default, rules, source, created_at) "
        "SELECT 'default', NULL, true, '[]', 'migration 0013', CURRENT_TIMESTAMP "
        "WHERE EXISTS (SELECT 1 FROM agreement_versions)"
    )
    for table, number in _KEYED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "agreement_id", sa.String(length=64), server_default="default", nullable=False
                )
            )
        _primary_key(table, ["agreement_id", number])
    with op.batch_alter_table("ticket_facts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("agreement_id", sa.String(), server_default="default", nullable=False)
        )
        batch_op.add_column(
            sa.Column("measured", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_ticket_facts_agreement_id"), ["agreement_id"])


def _primary_key(table: str, columns: list[str]) -> None:
    """Replace a table's primary key: in place on PostgreSQL, by copying the table on SQLite."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(f"{table}_pkey", table, type_="primary")
        op.create_primary_key(f"{table}_pkey", table, columns)
        return
    with warnings.catch_warnings():  # batch mode says it replaces the key: that is the point
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        with op.batch_alter_table(table, schema=None, recreate="always") as batch_op:
            batch_op.create_primary_key(f"{table}_pkey", columns)


def downgrade() -> None:
    """Keeps the default agreement's chain only: other agreements cannot exist below 0013."""
    with op.batch_alter_table("ticket_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_facts_agreement_id"))
        batch_op.drop_column("measured")
        batch_op.drop_column("agreement_id")
    for table, number in _KEYED:
        op.execute(f"DELETE FROM {table} WHERE agreement_id <> 'default'")
        _primary_key(table, [number])
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("agreement_id")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreements_customer_id"))
    op.drop_table("agreements")
    op.drop_table("customers")
