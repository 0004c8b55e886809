"""/admin, the operator's cockpit: closed to anyone without a live session."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from web.admin import routes
from web.admin.auth import PATH, BadCsrf, NotSignedIn
from web.pages import message


def install(app: FastAPI) -> None:
    """The admin routes and the answers for a missing session or CSRF token."""
    app.include_router(routes.router)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(f"{PATH}/login", status_code=303)
        return JSONResponse({"detail": "sign in at /admin/login"}, status_code=401)

    @app.exception_handler(BadCsrf)
    async def bad_csrf(_request: Request, _exc: BadCsrf) -> Response:
        return message(
            "Not done",
            "This form was not sent from a page of this session. Nothing was changed.",
            status=403,
            link_url=PATH,
            link_label="Back to the dashboard",
        )
