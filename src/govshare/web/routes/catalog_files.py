"""Catalog routes (catalog_files)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
