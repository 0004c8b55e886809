"""`paperboy serve`: the web app, as the Procfile's `web` process runs it."""

from __future__ import annotations

from cli.ui import settings


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the web app (subscribe, preferences, unsubscribe, feedback, webhooks)."""
    import uvicorn

    from config.logging import uvicorn_log_config

    settings()
    uvicorn.run("web.app:app", host=host, port=port, log_config=uvicorn_log_config())
