"""The main navigation: each entry shows only to those its permission admits."""

from __future__ import annotations

from typing import Any

from govshare.identity.policy import Permission, can
from govshare.kernel.actor import Actor, ActorKind
from govshare.kernel.clock import utcnow
from govshare.notify.queries import unread_badge

NavItem = tuple[str, str, Permission]
NAV: list[NavItem] = [
    ("/", "Home", Permission.SIGNED_IN),
    ("/notifications", "Message centre", Permission.SIGNED_IN),
    ("/admin/departments", "Departments", Permission.MANAGE_DEPARTMENTS),
    ("/admin/users", "Users", Permission.MANAGE_USERS),
    ("/admin/clients", "Client systems", Permission.MANAGE_CLIENT_SYSTEMS),
    ("/notifications/webhooks", "Webhooks", Permission.MANAGE_CLIENT_SYSTEMS),
    ("/audit", "Audit log", Permission.VIEW_AUDIT),
    ("/catalog", "Catalog", Permission.VIEW_CATALOG),
    ("/catalog/mine", "My department's catalog", Permission.EDIT_CATALOG),
    ("/catalog/review", "Catalog review", Permission.REVIEW_CATALOG),
    ("/catalog/demands", "Demand and duty lists", Permission.VIEW_CATALOG),
    ("/catalog/changes", "Catalog upkeep", Permission.EDIT_CATALOG),
    ("/pools", "Data aggregation", Permission.VIEW_POOLS),
    ("/sources", "Aggregation sources", Permission.VIEW_POOLS),
    ("/conflicts", "Data conflicts", Permission.VIEW_POOLS),
    ("/sharing", "Data sharing", Permission.VIEW_CATALOG),
    ("/delivery/usage", "Data service usage", Permission.VIEW_CATALOG),
    ("/delivery/provider", "Use of our resources", Permission.EDIT_CATALOG),
    ("/delivery/statistics", "Data sharing statistics", Permission.REVIEW_CATALOG),
    ("/calendar", "Working days", Permission.SIGNED_IN),
    ("/profiles", "Rule profiles", Permission.SIGNED_IN),
]


def navigation(actor: Actor) -> list[tuple[str, str]]:
    return [(href, label) for href, label, perm in NAV if can(actor, perm)]


def unread_notices(request: Any) -> int:
    """The nav badge: the signed-in user's unread notices (capped; see notify.queries)."""
    actor = getattr(request.state, "actor", None)
    if actor is None or actor.kind is not ActorKind.USER:
        return 0
    with request.app.state.platform.db.read() as conn:
        return unread_badge(conn, actor, utcnow())
