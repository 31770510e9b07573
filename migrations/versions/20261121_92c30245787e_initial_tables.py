"""initial tables

Revision ID: 92c30245787e
Revises:
Create Date: 2026-11-21 23:08:21.397424
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "92c30245787e"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("address_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("address_enc", sa.LargeBinary(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('telegram', 'sms', 'web', 'console')", name=op.f("ck_contact_channel")
        ),
        sa.CheckConstraint(
            "language IS NULL OR language IN ('cy', 'en')", name=op.f("ck_contact_language")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_address_hash"), ["address_hash"], unique=True)

    op.create_table(
        "conversation",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("state_enc", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_conversation_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_conversation")),
    )
    op.create_table(
        "inbound_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("text_enc", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('telegram', 'sms', 'web', 'console')",
            name=op.f("ck_inbound_event_channel"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_inbound_event_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_event")),
        sa.UniqueConstraint(
            "channel", "provider_id", name=op.f("uq_inbound_event_channel_provider_id")
        ),
    )
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_event_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_event_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "rhi_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("area", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("returned_band", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("returned_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("in_care", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("contact_method", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("contact_time", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("contact_phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("welsh_worker", sa.Boolean(), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('telegram', 'sms', 'web', 'console')", name=op.f("ck_rhi_request_channel")
        ),
        sa.CheckConstraint(
            "contact_method IN ('chat', 'phone', 'text', 'in_person')",
            name=op.f("ck_rhi_request_contact_method"),
        ),
        sa.CheckConstraint(
            "contact_time IN ('morning', 'afternoon', 'evening', 'any')",
            name=op.f("ck_rhi_request_contact_time"),
        ),
        sa.CheckConstraint(
            "in_care IN ('home', 'care', 'unsaid')", name=op.f("ck_rhi_request_in_care")
        ),
        sa.CheckConstraint("language IN ('cy', 'en')", name=op.f("ck_rhi_request_language")),
        sa.CheckConstraint(
            "returned_band IN ('today', 'yesterday', 'days_2_3', 'longer')",
            name=op.f("ck_rhi_request_returned_band"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'claimed', 'closed', 'withdrawn')",
            name=op.f("ck_rhi_request_status"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_rhi_request_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rhi_request")),
    )
    with op.batch_alter_table("rhi_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rhi_request_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rhi_request_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            "ix_rhi_request_queue", ["status", "area", "urgent", "due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rhi_request_reference"), ["reference"], unique=True)

    op.create_table(
        "consent_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("wording_version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('telegram', 'sms', 'web', 'console')",
            name=op.f("ck_consent_record_channel"),
        ),
        sa.CheckConstraint("language IN ('cy', 'en')", name=op.f("ck_consent_record_language")),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_consent_record_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rhi_request.id"],
            name=op.f("fk_consent_record_request_id_rhi_request"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_record")),
    )
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_record_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consent_record_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["rhi_request.id"],
            name=op.f("fk_request_event_request_id_rhi_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_event")),
    )
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.create_index("ix_request_event_timeline", ["request_id", "at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.drop_index("ix_request_event_timeline")

    op.drop_table("request_event")
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_record_request_id"))
        batch_op.drop_index(batch_op.f("ix_consent_record_contact_id"))

    op.drop_table("consent_record")
    with op.batch_alter_table("rhi_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rhi_request_reference"))
        batch_op.drop_index("ix_rhi_request_queue")
        batch_op.drop_index(batch_op.f("ix_rhi_request_created_at"))
        batch_op.drop_index(batch_op.f("ix_rhi_request_contact_id"))

    op.drop_table("rhi_request")
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_event_received_at"))
        batch_op.drop_index(batch_op.f("ix_inbound_event_contact_id"))

    op.drop_table("inbound_event")
    op.drop_table("conversation")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_address_hash"))

    op.drop_table("contact")
