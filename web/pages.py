"""Tiny server-rendered pages: Jinja2 with autoescape on, so reader-supplied text stays text."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(name: str, *, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(env.get_template(name).render(**context), status_code=status)


def message(
    title: str,
    *lines: str,
    status: int = 200,
    link_url: str | None = None,
    link_label: str = "",
) -> HTMLResponse:
    return page(
        "message.html",
        status=status,
        title=title,
        lines=lines,
        link_url=link_url,
        link_label=link_label,
    )


def confirm_action(
    title: str, *lines: str, action: str, button: str, fields: dict[str, str] | None = None
) -> HTMLResponse:
    """A page whose only state change is behind a POST button: link scanners prefetch GETs."""
    return page(
        "confirm_action.html",
        title=title,
        lines=lines,
        action=action,
        button=button,
        fields=fields or {},
    )
