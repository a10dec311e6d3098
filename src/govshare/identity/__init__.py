"""Jurisdictions, departments, users, roles, client systems, authentication."""
