"""Property-based fuzzing of every form and token route: whatever arrives, no 5xx and no
markup reflected unescaped. Hypothesis drives the real app over SQLite."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import get_settings
from tests.web.conftest import active_subscriber, add_paper, token

MARK = '<b data-fuzz="1">'  # if this comes back verbatim, the page reflected markup
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = (
    "email",
    "interests",
    "authors",
    "categories",
    "muted_words",
    "frequency",
    "max_papers",
    "send_hour",
    "send_weekday",
    "timezone",
    "paused_until",
    "new_email",
    "paper_id",
)
text = st.text(max_size=80) | st.sampled_from(
    ["", "\x00", "cs.LG", "bogus.XX", "daily", "-1", "99", "2027-02-30", "Europe/Berlin"]
)
marked = st.builds(lambda a, b: a + MARK + b, text, text)
value = text | marked
form = st.dictionaries(st.sampled_from(FIELDS), value, max_size=len(FIELDS))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | value,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
# Objects with the form's own keys, holding any JSON: where a wrong type would hurt.
json_forms = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), json_values)


@pytest.fixture
def fuzz_client(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The app over this test's database, rate limits out of the way (tested elsewhere), so
    every example reaches the code behind them; examples of one test share the database."""
    for name in ("MAIL_REQUESTS_PER_IP", "MAIL_REQUESTS_PER_ADDRESS", "MAIL_REQUESTS_OVERALL"):
        monkeypatch.setenv(name, "1000000")
    get_settings.cache_clear()
    return client


def _check(resp) -> None:
    assert resp.status_code < 500, resp.text[:500]
    assert MARK not in resp.text


@pytest.fixture
def reader(fuzz_client: TestClient) -> int:
    sid = active_subscriber("fuzz@example.org")
    add_paper()
    return sid


@FUZZ
@given(data=form)
def test_sign_up_and_link_forms(fuzz_client: TestClient, data: dict[str, str]) -> None:
    _check(fuzz_client.post("/subscribe", data=data))
    _check(fuzz_client.post("/link", data=data))


@FUZZ
@given(body=json_forms | json_values)
def test_sign_up_json(fuzz_client: TestClient, body: object) -> None:
    resp = fuzz_client.post(
        "/subscribe",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    _check(resp)


@FUZZ
@given(data=form, action=st.sampled_from(["", "/resume", "/email", "/vote/clear", "/revoke"]))
def test_preferences_forms(
    fuzz_client: TestClient, reader: int, data: dict[str, str], action: str
) -> None:
    if action == "/revoke":
        action = ""  # revoking would end the fuzzing of this reader's link
    _check(fuzz_client.post(f"/p/{token('preferences', reader)}{action}", data=data))
    _check(fuzz_client.get(f"/p/{token('preferences', reader)}"))


@FUZZ
@given(
    junk=st.text(max_size=120) | marked,
    path=st.sampled_from(["u", "p", "c", "f", "e", "d"]),
    method=st.sampled_from(["GET", "POST"]),
    data=form,
)
def test_token_routes(
    fuzz_client: TestClient, junk: str, path: str, method: str, data: dict[str, str]
) -> None:
    url = f"/{path}/{quote(junk, safe='')}"
    resp = fuzz_client.request(method, url, data=data if method == "POST" else None)
    _check(resp)
    assert resp.status_code in (200, 307, 400, 404, 405, 422), resp.status_code  # 307: "/"


@FUZZ
@given(vote=st.integers() | st.none(), paper=text, purpose=st.sampled_from(["feedback"]))
def test_signed_but_odd_feedback_links(
    fuzz_client: TestClient, reader: int, vote: int | None, paper: str, purpose: str
) -> None:
    """Tokens we signed but with payloads no email carries still end in a page, not a crash."""
    link = token(purpose, reader, paper_id=paper, vote=vote)
    _check(fuzz_client.get(f"/f/{link}"))
    _check(fuzz_client.post(f"/f/{link}"))
