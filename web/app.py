"""The FastAPI app every email link points to: `uvicorn web.app:app` / `paperboy serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from config import get_settings
from config.logging import configure_logging
from web import feedback, health, preferences, subscribe, unsubscribe, webhooks
from web.deps import BadLink
from web.pages import message

# Pages carry capability tokens in their URLs: never leak them via Referer, never frame them.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
BAD_LINK_HINTS = {
    "unsubscribe": "To unsubscribe, use the link in the latest email we sent you.",
    "preferences": "Use the preferences link in the latest email we sent you.",
    "feedback": "Use the links in the latest digest we sent you.",
    "confirm": "Sign up again to get a fresh confirmation link.",
}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    get_settings()  # a broken configuration stops start-up with its ConfigError
    yield


def create_app() -> FastAPI:
    configure_logging(get_settings().log_level)
    app = FastAPI(title="Paperboy", lifespan=lifespan, docs_url=None, redoc_url=None)
    for module in (subscribe, unsubscribe, preferences, feedback, webhooks, health):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(BadLink)
    async def bad_link(_request: Request, exc: BadLink) -> Response:
        return message(
            "This link doesn't work",
            f"{exc.reason.capitalize()}. Nothing was changed.",
            BAD_LINK_HINTS[exc.purpose],
            status=400,
        )

    return app


app = create_app()
