"""Engine and transaction plumbing shared by every domain package."""
