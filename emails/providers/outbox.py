"""The embedded default: every message written as a real `.eml` file, atomically."""

from __future__ import annotations

import os
import re
from email.message import EmailMessage
from pathlib import Path


class OutboxBackend:
    name = "outbox"

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path_for(self, ref: str) -> Path:
        return self.directory / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', ref)}.eml"

    def send(self, message: EmailMessage, *, ref: str) -> str:
        """One file per ref: writing the same ref twice replaces, never duplicates."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(ref)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(message.as_bytes())
        tmp.replace(path)
        return str(path)
