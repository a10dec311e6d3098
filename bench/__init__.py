"""The benchmark harness (issue 7): govshare side by side with its peers (Datasette,
sqlite-utils) and the practical limit (a bare Starlette endpoint, raw executemany / COPY,
a raw csv export), measured in one run on one machine. ``bench/run`` is the entry point;
docs/performance.md explains the method and holds the latest table."""
