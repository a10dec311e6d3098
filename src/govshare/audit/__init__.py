"""The hash-chained audit log, its signed checkpoints, retention and verification."""
