from __future__ import annotations

from govshare.cli.common import console, opened_platform
from govshare.demo.seed import DemoSummary, seed_demo


def print_logins(summary: DemoSummary, base_url: str = "http://127.0.0.1:8000") -> None:
    console.print(f"\n[bold]govshare demo city[/] — {base_url}")
    console.print(f"  catalog: {summary.resources} published resources", highlight=False)
    console.print("  web logins (username / password / role / department):")
    for login in summary.logins:
        console.print(
            f"    {login.username:12} {login.password}  {login.role:16} {login.department}",
            highlight=False,
        )
    console.print("  client systems (client_id / secret):")
    for c in summary.clients:
        console.print(f"    {c.name}: {c.client_id} / {c.secret}", highlight=False)


def demo() -> None:
    """Seed the demo city: 2 counties, ~30 departments, users, clients, ~220 catalog entries.

    The catalog resources are drafted, submitted and approved through the catalog services.
    Running it again changes nothing."""
    with opened_platform() as p:
        summary = seed_demo(p.db, known_profiles=set(p.profiles), profiles=p.profiles)
    console.print(
        "seeded the demo city" if summary.created else "the demo city exists already; unchanged"
    )
    print_logins(summary)
