from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from govshare.storage.metadata import metadata
from govshare.storage.types import UTCDateTime

jurisdiction = Table(
    "jurisdiction",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("code", String(12), nullable=False, unique=True),  # GB/T 2260 division code
    Column("name", String(100), nullable=False),
    Column("level", String(10), nullable=False),  # province | city | county
    Column("parent_id", String(26), ForeignKey("jurisdiction.id")),
    Column("profile", String(40), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

department = Table(
    "department",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("short_name", String(50), nullable=False),
    Column("uscc", String(18), nullable=False, unique=True),
    Column("jurisdiction_id", String(26), ForeignKey("jurisdiction.id"), nullable=False),
    Column("is_authority", Boolean, nullable=False, default=False),
    Column("is_operator", Boolean, nullable=False, default=False),
    Column("contact_name", String(50), nullable=False, default=""),
    Column("contact_phone", String(30), nullable=False, default=""),
    Column("contact_email", String(200), nullable=False, default=""),
    # SZ-4: responsible unit and person, filed (备案) with the same-level authority.
    Column("responsible_unit", String(200), nullable=False, default=""),
    Column("responsible_person", String(50), nullable=False, default=""),
    Column("responsibility_filed_at", UTCDateTime()),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("jurisdiction_id", "name"),
)

# YX-4: each organ's business-system data interface and front-end processor (前置机).
department_interface = Table(
    "department_interface",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("kind", String(30), nullable=False),  # interface | front_end_processor
    Column("name", String(200), nullable=False),
    Column("endpoint", String(500), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

app_user = Table(
    "app_user",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UTCDateTime()),
    Column("last_login_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

user_role = Table(
    "user_role",
    metadata,
    Column("user_id", String(26), ForeignKey("app_user.id"), nullable=False),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("role", String(30), nullable=False),
    PrimaryKeyConstraint("user_id", "department_id", "role"),
)

client_system = Table(
    "client_system",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("client_id", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("department_id", String(26), ForeignKey("department.id"), nullable=False),
    Column("secret_hash", String(128), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_reason", String(500)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_token_at", UTCDateTime()),
)
