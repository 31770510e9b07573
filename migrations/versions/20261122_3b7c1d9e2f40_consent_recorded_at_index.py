"""consent recorded_at index

The monthly report counts a month's consent answers (bot/reports.py `_consents`); without
an index that is a scan of every consent ever recorded, the slowest part of the report at
1,000,000 requests (docs/performance.md).

Revision ID: 3b7c1d9e2f40
Revises: e52456bc8e6d
Create Date: 2026-11-22 03:12:00.000000
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "3b7c1d9e2f40"
down_revision: str | Sequence[str] | None = "e52456bc8e6d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_record_recorded_at"), ["recorded_at"],
                              unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_record_recorded_at"))
