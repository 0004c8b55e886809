"""Paperboy's tests; the tree mirrors the packages it tests."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"  # recorded provider responses, shared by tests and bench
