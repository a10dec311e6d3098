"""Shared vocabulary: actors, clock, errors, identifiers, the working-day calendar."""
