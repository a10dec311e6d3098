"""Helpers shared by the sharing tests at the service level (``tests/integration/sharing``)
and through the app (``tests/web/test_sharing_pages.py``)."""

from __future__ import annotations

from typing import Any

from govshare.catalog.model import DeliveryMode, ShareCategory


def share_values(category: ShareCategory, **changes: Any) -> dict[str, Any]:
    """The share fields of a catalog entry of ``category`` that passes review: conditions
    and basis for a conditional one, reasons and the head's sign-off for a not-shared one."""
    values: dict[str, Any] = {
        "share_category": category,
        "delivery_modes": (DeliveryMode.QUERY, DeliveryMode.VERIFY, DeliveryMode.BATCH),
    }
    if category is ShareCategory.CONDITIONAL:
        values.update(
            share_conditions="仅限社会保障业务",
            share_basis_type="law",
            share_basis_text="第十条",
            share_basis_ref="《某法》",
        )
    if category is ShareCategory.NOT_SHARED:
        values.update(
            delivery_modes=(),
            share_basis_type="law",
            share_basis_text="第十条",
            share_basis_ref="《某法》",
            not_shared_reasons="涉及个人隐私",
            head_sign_off="张局长 2026-11-01",
        )
    values.update(changes)
    return values
