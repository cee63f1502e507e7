"""ticket facts: business seconds to the first acknowledgement (business-time MTTA)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_facts", schema=None) as batch_op:
        batch_op.drop_column("acknowledged_seconds")
