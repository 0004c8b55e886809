"""The CLI's source commands run against the same local arXiv / HF stand-ins as the source tests."""

from tests.worker.ingest.conftest import clock, providers

__all__ = ["clock", "providers"]
