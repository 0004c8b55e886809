"""The FastAPI app every email link points to: `uvicorn web.app:app` / `paperboy serve`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config import get_settings
from config.logging import configure_logging
from emails.providers import registry
from web import (
    address,
    admin,
    archive,
    clicks,
    feed,
    feedback,
    health,
    metrics,
    preferences,
    subscribe,
    unsubscribe,
    webhooks,
)
from web.bodylimit import BodyLimit
from web.deps import BadLink
from web.pages import message
from web.ratelimit import RateLimited, too_many

# Pages carry capability tokens in their URLs: never leak them via Referer, never frame them.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
BAD_LINK_HINTS = {
    "unsubscribe": "To unsubscribe, use the link in the latest email we sent you.",
    "preferences": "Ask for a fresh link on the sign-up page: “Email me my link”.",
    "feedback": "Use the links in the latest digest we sent you.",
    "confirm": "Sign up again to get a fresh confirmation link.",
    "digest": "Open the digest from the latest email we sent you.",
    "feed": "Copy your feed's new address from your preferences page.",
    "email": "Ask for the change again on your preferences page.",
    "click": "Open the paper from the latest digest we sent you.",
}
STATUS_PAGES = {
    404: ("Page not found", "There is nothing at this address."),
    405: ("Not allowed", "This page does not accept that kind of request."),
    413: ("Too much data", "That request was larger than any form here sends."),
}


class SecurityHeaders:
    """Plain ASGI (no per-request task and body copy like `@app.middleware`): adds the headers
    a response does not set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        return await self.app(scope, receive, with_headers)


async def too_large(scope: Scope, receive: Receive, send: Send) -> None:
    """The 413 BodyLimit answers with, before any route ran: a page for people, JSON else."""
    request = Request(scope)
    if "text/html" in request.headers.get("accept", ""):
        response: Response = message(
            *STATUS_PAGES[413], status=413, link_url="/", link_label="Go to Paperboy"
        )
    else:
        response = JSONResponse({"detail": "Request body too large"}, status_code=413)
    response.headers["Connection"] = "close"  # the rest of the body is never read
    await response(scope, receive, send)


def create_app() -> FastAPI:
    settings = get_settings()
    registry.check(settings)
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Paperboy",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    for module in (
        subscribe,
        unsubscribe,
        preferences,
        address,
        archive,
        feed,
        feedback,
        clicks,
        health,
        metrics,
    ):
        app.include_router(module.router)
    app.include_router(webhooks.router)
    admin.install(app)
    static = StaticFiles(directory=Path(__file__).parent / "static", follow_symlink=True)
    app.mount("/static", static, name="static")  # the sample picture is docs/digest-phone.png

    app.add_middleware(
        BodyLimit,
        most=settings.max_body_bytes,
        webhook_most=settings.webhook_max_body_bytes,
        refuse=too_large,
    )
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(BadLink)
    async def bad_link(_request: Request, exc: BadLink) -> Response:
        return message(
            "This link doesn't work",
            f"{exc.reason.capitalize()}. Nothing was changed.",
            BAD_LINK_HINTS[exc.purpose],
            status=400,
            link_url="/",
            link_label="Sign up or get a fresh link",
        )

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        return too_many(request, exc)

    @app.exception_handler(HTTPException)
    async def status_page(request: Request, exc: HTTPException) -> Response:
        """People get pages; machines (webhooks, JSON clients) keep FastAPI's JSON."""
        wants_page = "text/html" in request.headers.get("accept", "") or exc.status_code == 404
        if exc.status_code not in STATUS_PAGES or not wants_page:
            return await http_exception_handler(request, exc)
        return message(
            *STATUS_PAGES[exc.status_code],
            status=exc.status_code,
            link_url="/",
            link_label="Go to Paperboy",
        )

    return app


app = create_app()
