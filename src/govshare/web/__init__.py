"""The web shell: server-rendered Jinja2 + htmx pages, the JSON API, and system endpoints."""
