"""The embedded default: every message written as a real `.eml` file, atomically."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from config import Settings
from emails.message import to_mime
from emails.providers.base import Envelope, Provider


class OutboxBackend:
    name = "outbox"
    concurrency = 4

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path_for(self, ref: str) -> Path:
        return self.directory / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', ref)}.eml"

    def send(self, envelope: Envelope) -> str:
        """One file per ref: writing the same ref twice replaces, never duplicates."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(envelope.ref)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(to_mime(envelope).as_bytes())
        tmp.replace(path)
        return str(path)

    def close(self) -> None:
        pass


def backend(settings: Settings) -> OutboxBackend:
    return OutboxBackend(settings.outbox_path)


PROVIDER = Provider(name="outbox", backend=backend)
