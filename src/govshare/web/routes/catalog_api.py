"""Catalog routes (catalog_api)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
