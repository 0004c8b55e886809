"""`paperboy serve`: the web app, as the Procfile's `web` process runs it."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.ui import settings


def serve(
    host: Annotated[
        str, typer.Option(metavar="HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            envvar="PORT", metavar="PORT", help="Port; $PORT when set, as in the Procfile."
        ),
    ] = 8000,
) -> None:
    """Run the web app (subscribe, preferences, archive, unsubscribe, feedback, webhooks)."""
    import uvicorn

    settings()
    # uvicorn's own logging, as under the Procfile: web.app adds the token redaction to it.
    uvicorn.run("web.app:app", host=host, port=port, proxy_headers=True)
