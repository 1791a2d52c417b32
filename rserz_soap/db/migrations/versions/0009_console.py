"""the ТФОМС console: named users with roles, server-side sessions, the security event log

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12

* ``console_user``: one row per named person (no shared accounts), the password as an argon2id hash only,
  the lockout state (failures in a row, locked until) and an administrator's lock.
* ``console_user_role``: the roles of each user (the permission matrix is ``domain/access.py``).
* ``console_session``: the console's sessions; the cookie carries a random token, the table its SHA-256.
* ``security_event``: the security event log (152-ФЗ, ФСТЭК): append-only, enforced by a trigger that
  refuses UPDATE, DELETE and TRUNCATE.

Revises 0008 (the СМЭВ tables); 0007 (ФЕРЗЛ) comes before both.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False, comment="lower case; a named person, never shared"),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False, comment="argon2id, encoded with its parameters and salt"),
        sa.Column(
            "must_change_password",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="a one-time password: the next login must set a new one",
        ),
        sa.Column("password_changed_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False, comment="failures in a row"),
        sa.Column("last_failed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "locked_until",
            postgresql.TIMESTAMP(timezone=True),
            nullable=True,
            comment="locked out after repeated failures until then",
        ),
        sa.Column(
            "disabled_at",
            postgresql.TIMESTAMP(timezone=True),
            nullable=True,
            comment="locked by an administrator until unlocked",
        ),
        sa.Column("disabled_by", sa.String(length=64), nullable=True),
        sa.Column("last_login_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("login ~ '^[a-z0-9][a-z0-9._-]{1,63}$'", name=op.f("ck_console_user_login")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_user")),
        sa.UniqueConstraint("login", name=op.f("uq_console_user_login")),
    )
    op.create_table(
        "console_user_role",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("granted_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "role IN ('administrator', 'operator', 'reviewer', 'auditor', 'viewer')",
            name=op.f("ck_console_user_role_role"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["console_user.id"], name=op.f("fk_console_user_role_user_id_console_user")),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_console_user_role")),
    )
    op.create_table(
        "console_session",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "token_sha256",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the cookie's random token: a copy of this table opens no session",
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "expires_at", postgresql.TIMESTAMP(timezone=True), nullable=False, comment="the absolute end of the session"
        ),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("ended_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "end_reason", sa.String(length=16), nullable=True, comment="logout, idle, expired, locked, password, admin"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["console_user.id"], name=op.f("fk_console_session_user_id_console_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_console_session_token_sha256")),
    )
    op.create_index(
        "ix_console_session_open", "console_session", ["user_id"], unique=False, postgresql_where=sa.text("ended_at IS NULL")
    )
    op.create_table(
        "security_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("at", postgresql.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("login", sa.String(length=64), nullable=True, comment="the login as given (a failed login may name no user)"),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True, comment="where from (the client's address)"),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column(
            "path", sa.String(length=200), nullable=True, comment="the request path: internal ids only, never personal data"
        ),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column(
            "object_id",
            sa.String(length=64),
            nullable=True,
            comment="internal id of what was touched (a person's id, never an ЕНП)",
        ),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="field names, counts, codes",
        ),
        sa.CheckConstraint("outcome IN ('success', 'failure', 'denied')", name=op.f("ck_security_event_outcome")),
        sa.ForeignKeyConstraint(["user_id"], ["console_user.id"], name=op.f("fk_security_event_user_id_console_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_event")),
        comment="152-ФЗ / ФСТЭК: the console's security event log; append-only (a trigger refuses UPDATE, DELETE, TRUNCATE)",
    )
    op.create_index("ix_security_event_at", "security_event", ["at"], unique=False)
    op.create_index("ix_security_event_user", "security_event", ["user_id", "id"], unique=False)
    op.create_index("ix_security_event_object", "security_event", ["object_type", "object_id", "id"], unique=False)
    op.execute(
        "CREATE FUNCTION security_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN RAISE EXCEPTION 'security_event is append-only (%)', TG_OP; END $$"
    )
    op.execute(
        "CREATE TRIGGER security_event_no_change BEFORE UPDATE OR DELETE ON security_event"
        " FOR EACH ROW EXECUTE FUNCTION security_event_append_only()"
    )
    op.execute(
        "CREATE TRIGGER security_event_no_truncate BEFORE TRUNCATE ON security_event"
        " FOR EACH STATEMENT EXECUTE FUNCTION security_event_append_only()"
    )


def downgrade() -> None:
    op.drop_table("security_event")  # its triggers go with it
    op.execute("DROP FUNCTION security_event_append_only()")
    op.drop_index("ix_console_session_open", table_name="console_session")
    op.drop_table("console_session")
    op.drop_table("console_user_role")
    op.drop_table("console_user")
