from __future__ import annotations

import typer
import uvicorn

from govshare.cli.common import fail
from govshare.config import get_settings
from govshare.rules import ProfileError


def serve(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port"),
) -> None:
    """Serve the platform (web UI and API)."""
    from govshare.web.app import create_app

    try:
        # the one app of this process: what start-up made is kept out of the garbage
        # collector's walks, and it collects less often, while it serves (``kernel.heap``)
        app = create_app(get_settings(), tune_gc=True)
    except ProfileError as exc:
        raise fail(str(exc), 2) from exc
    # X-Forwarded-* are honoured by the app itself, and only with GOVSHARE_TRUST_PROXY
    uvicorn.run(
        app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False
    )
