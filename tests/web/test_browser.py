"""The reader's whole path in a real browser (Playwright driving Debian's Chromium) against the
Procfile's web process: sign up -> confirm from the outbox -> a digest is sent -> "view in
browser" and the preferences link from that .eml -> change interests, time zone and pause ->
the next plan follows them -> unsubscribe from the page -> no more email.

Screenshots at 375 px land in tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import email
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlmodel import select

from config import get_settings
from models import (
    DigestItem,
    Feedback,
    Subscriber,
    SubscriberStatus,
    session_scope,
    subscribers,
    upgrade,
    utcnow,
)
from models.schedule import is_due
from tests import FIXTURES
from tests.conftest import reset_caches, service_unavailable
from tests.web.conftest import REPO, free_port, link_in, web_server
from tests.worker.ingest.conftest import NOW
from tests.worker.ingest.fake_providers import ARXIV_PAGE_SIZE, FakeProviders
from worker import tasks
from worker.ingest.fetch import load_sample, run_source
from worker.ranking.planning import plan_edition

ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def site(paperboy_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The web process on the embedded default (SQLite, in-process tasks, file outbox), its
    emails' links pointing at it; this test process shares its database and outbox."""
    port = free_port()
    monkeypatch.setenv("BASE_URL", f"http://127.0.0.1:{port}")
    reset_caches()
    upgrade()
    get_settings().signing_key()  # created once here, read by both processes
    with web_server(paperboy_home, port) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[object]:
    binary = shutil.which("chromium")
    if binary is None:
        service_unavailable("chromium", "the binary is not installed (Debian `chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _outbox(home: Path, prefix: str, wait: bool = True) -> list[EmailMessage]:
    """The emails whose file name starts with `prefix`; sign-up mail is written after the
    page answers, so wait (bounded) for the first one."""
    deadline = time.monotonic() + (10 if wait else 0)
    while not (paths := sorted((home / "outbox").glob(f"{prefix}*.eml"))):
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return [email.message_from_bytes(p.read_bytes(), policy=default) for p in paths]


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}-375px.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways at 375 px ({width} px)"


def _plan(when_days: int = 0) -> list[int]:
    """Plan (and, in-process, send) the edition `when_days` from now; the planned digest ids."""
    with session_scope() as session:
        later = utcnow() + timedelta(days=when_days)
        return plan_edition(session, get_settings(), later, ignore_send_hour=True).planned


def _reader() -> Subscriber:
    with session_scope() as session:
        return subscribers.find(session, "phone.reader@example.org")


def test_a_reader_from_sign_up_to_unsubscribe(site: str, browser, paperboy_home: Path) -> None:
    context = browser.new_context(viewport=PHONE, timezone_id="Europe/Berlin")
    page = context.new_page()

    page.goto(f"{site}/")
    assert page.evaluate("document.querySelector('img.sample').naturalWidth") > 0
    _shot(page, "subscribe")
    page.fill("#email", "phone.reader@example.org")
    page.fill("#interests", "graph neural networks for molecules")
    page.check("input[value='cs.LG']")
    page.click("button:has-text('Subscribe')")
    page.wait_for_selector("text=Check your inbox")

    (confirm,) = _outbox(paperboy_home, "notice-confirm")
    page.goto(link_in(confirm, "/c/"))
    _shot(page, "confirm")
    page.click("button:has-text('Confirm my subscription')")
    page.wait_for_selector("text=You're subscribed")
    assert "Europe/Berlin" in page.content() or "next edition" in page.content()
    sub = _reader()
    assert (sub.status, sub.timezone, sub.categories) == (
        SubscriberStatus.active,
        "Europe/Berlin",  # the browser's zone, filled in by the page's script
        ["cs.LG"],
    )

    load_sample()
    assert tasks.plan_due(ignore_send_hour=True)["planned"] == 1  # planned and sent
    (digest,) = _outbox(paperboy_home, "digest-")
    page.goto(link_in(digest, "/d/"))
    cards = page.locator(".card").count()
    assert cards > 0  # the digest itself, in the browser
    _shot(page, "digest")
    with page.expect_download() as download:  # its BibTeX file, as a reference manager gets it
        page.locator("a:text-is('BibTeX')").first.click()
    assert download.value.suggested_filename.endswith(".bib")
    bib = Path(download.value.path()).read_text(encoding="utf-8")
    assert bib.count("@misc{") == cards and bib.count("{") == bib.count("}")

    page.goto(link_in(digest, "/p/"))
    until = (utcnow() + timedelta(days=20)).date()
    page.fill("#interests", "protein structure prediction")
    page.select_option("#timezone", "America/New_York")
    page.fill("#paused_until", until.isoformat())
    page.click("button:has-text('Save preferences')")
    page.wait_for_selector("text=Your preferences are saved")
    assert page.locator("text=Your last digests").count() == 1
    _shot(page, "preferences")
    feed = page.request.get(page.locator("#feed").get_attribute("href"))  # the reader's feed
    assert feed.ok and feed.headers["content-type"].startswith("application/atom+xml")
    atom = "{http://www.w3.org/2005/Atom}"
    entries = ElementTree.fromstring(feed.body()).findall(f"{atom}entry")
    assert 0 < len(entries) <= cards and all(e.findtext(f"{atom}title") for e in entries)
    sub = _reader()
    assert (sub.interests, sub.timezone, sub.paused_until) == (
        "protein structure prediction",
        "America/New_York",
        until,
    )
    assert _plan(when_days=2) == []  # paused: the next plan leaves this reader out
    # and takes them back after it (whatever the hour now is in New York)
    assert is_due(_reader(), utcnow() + timedelta(days=21), ignore_send_hour=True)

    page.click("a:text-is('Unsubscribe')")
    page.wait_for_url("**/u/**")
    assert page.locator("text=Pause for a month").count() == 1  # the gentler choices first
    _shot(page, "unsubscribe")
    page.click("button:has-text('Unsubscribe')")
    page.wait_for_selector("text=You're unsubscribed")
    sent = len(list((paperboy_home / "outbox").glob("*.eml")))
    assert _reader().status == SubscriberStatus.unsubscribed
    assert not is_due(_reader(), utcnow() + timedelta(days=21), ignore_send_hour=True)
    assert tasks.send_due()["enqueued"] == 0
    assert len(list((paperboy_home / "outbox").glob("*.eml"))) == sent  # no more email
    context.close()


@pytest.fixture
def arxiv(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    """The local arXiv stand-in, for the web process's seed lookups and this test's fetch."""
    fake = FakeProviders().start()
    monkeypatch.setenv("ARXIV_API_URL", f"{fake.url}/api/query")
    monkeypatch.setenv("ARXIV_PAGE_SIZE", str(ARXIV_PAGE_SIZE))
    monkeypatch.setenv("ARXIV_MIN_INTERVAL_SECONDS", "0.01")
    yield fake
    fake.stop()


def test_a_reader_signs_up_from_their_papers(
    arxiv, site: str, browser, paperboy_home: Path, tmp_path: Path
) -> None:
    """An author search with a paper ticked, pasted ids and a .bib upload -> the confirm page
    says the digest follows those papers -> the first digest picks papers like them, never one
    of them -> the category picker works with JavaScript off."""
    bib = tmp_path / "my-library.bib"
    bib.write_text((FIXTURES / "seeds" / "zotero.bib").read_text().split("@book")[0])
    context = browser.new_context(viewport=PHONE, timezone_id="Europe/Berlin")
    page = context.new_page()
    page.goto(f"{site}/")
    page.fill("#email", "seeded.reader@example.org")
    page.fill("#author", "Grace Lovelace")
    page.click("button:has-text('Find my papers')")
    page.wait_for_selector("text=Tick yours, then subscribe.")
    assert page.locator("input[name='ticked']").count() == 5
    page.check("input[name='ticked'][value='2611.10024']")
    assert page.input_value("#email") == "seeded.reader@example.org"  # kept
    page.fill("#seeds", "2611.10012\nhttps://arxiv.org/abs/2611.10023v1")
    page.set_input_files("#seed_file", str(bib))
    _shot(page, "subscribe-seeds")
    page.click("button:has-text('Subscribe')")
    page.wait_for_selector("text=Check your inbox")

    (confirm,) = _outbox(paperboy_home, "notice-confirm")
    page.goto(link_in(confirm, "/c/"))
    assert "closest to your papers" in page.content()  # told before confirming
    page.click("button:has-text('Confirm my subscription')")
    page.wait_for_selector("text=You're subscribed")
    seeds = {"2611.10001", "2611.10002", "2611.10003", "2611.10012", "2611.10023", "2611.10024"}
    with session_scope() as session:
        sub = subscribers.find(session, "seeded.reader@example.org")
        liked = set(session.exec(select(Feedback.paper_id).where(Feedback.subscriber_id == sub.id)))
    assert liked == seeds

    reset_caches()  # this process fetches from the stand-in too
    assert run_source("arxiv", get_settings(), since=NOW - timedelta(days=4), now=NOW).new > 0
    assert tasks.plan_due(ignore_send_hour=True)["planned"] == 1
    with session_scope() as session:
        items = session.exec(select(DigestItem).where(DigestItem.section == "picks")).all()
    assert items and not {i.paper_id for i in items} & seeds  # never a seed sent back
    assert any(r["kind"] == "liked" for i in items for r in i.reasons)  # like their papers
    (digest,) = _outbox(paperboy_home, "digest-")
    page.goto(link_in(digest, "/p/"))
    assert page.locator("ul.votes li").count() == len(seeds)  # shown as liked, removable
    _shot(page, "preferences-seeds")
    preferences = page.url
    context.close()

    # the category picker without JavaScript: native <details>, checkboxes, a plain POST
    plain = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = plain.new_page()
    page.goto(preferences)
    page.click("summary:text-is('Quantitative Biology')")
    page.check("input[name='categories'][value='q-bio.NC']")
    assert page.locator("text=never hides the others").count() == 1
    _shot(page, "categories-no-js")
    page.click("button:has-text('Save preferences')")
    page.wait_for_selector("text=Your preferences are saved")
    with session_scope() as session:
        assert subscribers.find(session, "seeded.reader@example.org").categories == ["q-bio.NC"]
    plain.close()
