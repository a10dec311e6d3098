from __future__ import annotations

from sqlalchemy import Column, Date, Integer, String, Table

from govshare.storage.metadata import metadata
from govshare.storage.types import UTCDateTime

# Working-day calendar years loaded by the authority (govshare calendar load).
calendar_day = Table(
    "calendar_day",
    metadata,
    Column("day", Date, primary_key=True),
    Column("year", Integer, nullable=False, index=True),
    Column("kind", String(30), nullable=False),  # holiday | adjusted_working_day
    Column("name", String(100), nullable=False, default=""),
)

calendar_year = Table(
    "calendar_year",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("source", String(500), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("loaded_at", UTCDateTime(), nullable=False),
)
