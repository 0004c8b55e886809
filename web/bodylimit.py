"""Refuse a request body over its limit before any route runs (413), and lose nothing.

A limit enforced while a route reads the body comes too late for routes that never read it
(one-click unsubscribe, pause, votes): their change would be committed under a 413. So this
plain ASGI layer reads the whole body first, counting as it goes, and hands the app a replay
of it only when it fits. Webhooks get their own, larger limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEBHOOK_PREFIX = "/webhooks/"


class TooLarge(Exception):
    pass


class BodyLimit:
    """Reads (or, from Content-Length, refuses unread) every request body before the app."""

    def __init__(self, app: ASGIApp, *, most: int, webhook_most: int, refuse: ASGIApp) -> None:
        self.app = app
        self.most = most
        self.webhook_most = webhook_most
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        most = self.webhook_most if scope["path"].startswith(WEBHOOK_PREFIX) else self.most
        try:
            messages = await _read_body(scope, receive, most)
        except TooLarge:
            return await self.refuse(scope, receive, send)
        replay = iter(messages)

        async def replayed() -> Message:
            # after the body, pass on what the server says next (a disconnect)
            return next(replay, None) or await receive()

        return await self.app(scope, replayed, send)


async def _read_body(scope: Scope, receive: Receive, most: int) -> list[Message]:
    """Every body message of the request, or TooLarge as soon as the count passes `most`."""
    declared = dict(scope["headers"]).get(b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > most):
        raise TooLarge
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if size > most:
            raise TooLarge
        if not message.get("more_body", False):
            return messages
