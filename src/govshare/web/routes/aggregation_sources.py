"""Aggregation routes (aggregation_sources)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
