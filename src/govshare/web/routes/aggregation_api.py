"""Aggregation routes (aggregation_api)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
