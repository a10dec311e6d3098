"""The platform's job runner: huey (embedded SQLite queue at var/jobs.db, or Redis when
GOVSHARE_REDIS_URL is set). ``runner`` holds what the jobs do (testable without a queue);
``queue`` wires them to huey's periodic tasks and its consumer."""
