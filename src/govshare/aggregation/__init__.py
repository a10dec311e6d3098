"""Aggregation (汇聚) of department data into data pools: ingestion, validation, quarantine,
quality, freshness and cross-source checks."""
