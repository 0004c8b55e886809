"""Admin fixtures: an operator, a signed-in client, and the CSRF token of its session."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from models import operators, session_scope
from tests.web.conftest import client

__all__ = ["client"]
EMAIL, PASSWORD = "ops@example.org", "a long operator passphrase"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]*)"', html).group(1)


def sign_in(client: TestClient, email: str = EMAIL, password: str = PASSWORD):
    form = client.get("/admin/login")
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf": csrf_of(form.text)}
    )


@pytest.fixture
def operator(client: TestClient) -> str:
    operator_in_db()
    return EMAIL


@pytest.fixture
def admin(client: TestClient, operator: str) -> Iterator[tuple[TestClient, str]]:
    """A client signed in, and its session's CSRF token."""
    assert sign_in(client).headers["location"] == "/admin"
    yield client, csrf_of(client.get("/admin").text)


def operator_in_db() -> None:
    with session_scope() as session:
        operators.add(session, EMAIL, PASSWORD)
