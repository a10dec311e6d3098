"""Call statistics of the data services (HB-26: data calls and availability, per grant).

Both tables are written only by the audit group-commit flush, in the same transaction as
the calls' audit entries, so that the counters and the audit log never disagree.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Float, Index, String, Table

from govshare.storage.metadata import metadata

# One row per grant, Shanghai day and delivery mode. ``calls`` counts authorised calls
# (the daily quota counts these), ``rows`` the records returned, ``refusals`` the calls
# the guard refused; lat_* count calls by latency bucket (upper bounds in ms).
delivery_call_stat = Table(
    "delivery_call_stat",
    metadata,
    Column("grant_id", String(26), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("mode", String(10), primary_key=True),
    Column("consumer_department_id", String(26), nullable=False, index=True),
    Column("resource_id", String(26), nullable=False, index=True),
    Column("calls", BigInteger, nullable=False, default=0),
    Column("rows", BigInteger, nullable=False, default=0),
    Column("refusals", BigInteger, nullable=False, default=0),
    Column("latency_ms_sum", Float, nullable=False, default=0.0),
    Column("lat_10", BigInteger, nullable=False, default=0),
    Column("lat_50", BigInteger, nullable=False, default=0),
    Column("lat_250", BigInteger, nullable=False, default=0),
    Column("lat_1000", BigInteger, nullable=False, default=0),
    Column("lat_over", BigInteger, nullable=False, default=0),
    Index("ix_delivery_call_stat_day", "day"),
)

# Refusals by error code (grant_id "-" when the call named no readable grant).
delivery_error_stat = Table(
    "delivery_error_stat",
    metadata,
    Column("grant_id", String(26), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("mode", String(10), primary_key=True),
    Column("code", String(60), primary_key=True),
    Column("count", BigInteger, nullable=False, default=0),
)

LATENCY_BUCKETS_MS = (10, 50, 250, 1000)
