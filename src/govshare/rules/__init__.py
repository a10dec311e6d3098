"""Rule profiles: one schema-validated YAML file per jurisdiction's measures."""

from govshare.rules.loader import (
    PROFILE_NAMES,
    ProfileError,
    load_profile,
    load_profiles,
    profile_source,
    render_profile,
)
from govshare.rules.schema import Deadline, RuleProfile

__all__ = [
    "PROFILE_NAMES",
    "Deadline",
    "ProfileError",
    "RuleProfile",
    "load_profile",
    "load_profiles",
    "profile_source",
    "render_profile",
]
