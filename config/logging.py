"""Logging, configured once for every process: one line per event, level from LOG_LEVEL, and
never a signed token in any line (uvicorn's access log prints full `/u/<token>` paths).

A signed link is a capability: whoever reads it from a log can unsubscribe or edit that
reader. Tokens are itsdangerous' `payload.timestamp.signature`, so one pattern finds them
wherever they appear (paths, query strings, exception text).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping

TOKEN_RE = re.compile(r"\.?[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")
# itsdangerous names a bad signature on its own ("Signature b'...' does not match"): a
# tampered link's traceback would carry it, chained below ours.
SIGNATURE_RE = re.compile(r"(Signature )b?'[^']*'")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = {"httpx": logging.WARNING, "httpcore": logging.WARNING}  # a line per HTTP request


def redact(text: str) -> str:
    return SIGNATURE_RE.sub(r"\1[token]", TOKEN_RE.sub("[token]", text))


def _redact_arg(arg: object) -> object:
    """A token-free argument, kept as it was when it holds none (a `%d` still gets its int)."""
    if isinstance(arg, str):
        return redact(arg)
    if arg is None or isinstance(arg, int | float):
        return arg
    text = str(arg)
    clean = redact(text)
    return arg if clean == text else clean


class RedactTokens(logging.Filter):
    """Takes every token out of a record before any handler formats it: the message, each
    argument in its place (uvicorn's access formatter unpacks them), and the exception text
    with its chained causes; attached to handlers and to uvicorn's loggers so records from
    any library pass through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_redact_arg(a) for a in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class OneLineFormatter(logging.Formatter):
    """A traceback stays part of its event's line (newlines shown as `\\n`), so log
    shippers never split one event into many."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record)).replace("\n", "\\n")


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (test runners and CLIs swap it), not the stream
    that was current when logging was configured."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    """Idempotent: the root logger gets one stderr handler with our formatter and filter."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = next((h for h in root.handlers if getattr(h, "paperboy", False)), None)
    if handler is None:
        handler = StderrHandler()
        handler.paperboy = True  # type: ignore[attr-defined]
        handler.setFormatter(OneLineFormatter(FORMAT))
        handler.addFilter(RedactTokens())
        root.addHandler(handler)
    for name, quiet in QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
