"""Operations: backup and restore of the platform's database, audit archives and keys."""
