"""The running platform's parts, built once per process: settings, database, keys, profiles."""

from __future__ import annotations

from dataclasses import dataclass, field

from govshare.audit.keys import PlatformKeys, load_or_create_keys
from govshare.config import Settings
from govshare.kernel.calendar import WorkingDayCalendar
from govshare.rules import RuleProfile, load_profiles
from govshare.rules.calendar import RecomputeHook, load_calendar
from govshare.storage.engine import Database


@dataclass
class Platform:
    settings: Settings
    db: Database
    keys: PlatformKeys
    profiles: dict[str, RuleProfile] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings) -> Platform:
        """Validate the rule profiles first: a bad profile stops start-up (ProfileError)."""
        profiles = load_profiles(settings.profile_dir)
        keys = load_or_create_keys(settings.keys_dir)
        db = Database(settings.effective_database_url)
        return cls(settings=settings, db=db, keys=keys, profiles=profiles)

    @property
    def recompute_hooks(self) -> list[RecomputeHook]:
        """Workflows whose provisional deadlines are recomputed when a calendar year loads."""
        from govshare.catalog.deadlines import recompute_hook
        from govshare.sharing.deadlines import recompute_hook as sharing_hook

        return [recompute_hook(self.profiles), sharing_hook(self.profiles)]

    def calendar(self) -> WorkingDayCalendar:
        with self.db.read() as conn:
            return load_calendar(conn)

    @property
    def min_audit_retention_days(self) -> int:
        """The strictest retention any profile asks for (NX-33: at least 6 months)."""
        return max(p.audit.min_retention_days for p in self.profiles.values())

    def close(self) -> None:
        self.db.dispose()
