"""The operator's walk in Chromium (Playwright) against the Procfile's web process: sign in,
see the charts, open a run, pause and resume it, search a reader and suppress them, sign out;
the same pages refused without a session, with a stale one, and to a POST without its CSRF
token. Screenshots at 375 px and 1280 px land in tests/artifacts/."""

from __future__ import annotations

from sqlmodel import select

from models import RunState, SendRun, Suppression, operators, session_scope
from tests.web.admin.conftest import EMAIL, PASSWORD
from tests.web.test_browser import ARTIFACTS, PHONE, browser, site
from tests.worker.sending import address, outcomes, plan_run

__all__ = ["browser", "site"]
WIDE = {"width": 1280, "height": 900}


def _run(run_id: int) -> SendRun:
    with session_scope() as session:
        run = session.get(SendRun, run_id)
        session.expunge(run)
        return run


def _shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for label, size in (("375", PHONE), ("1280", WIDE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"admin-{name}-{label}.png"), full_page=True)


def test_an_operator_walks_the_cockpit(site: str, browser) -> None:
    run_id, planned = plan_run(6)
    assert outcomes(run_id, planned[:3]) == ["sent"] * 3  # half sent: the run is still running
    with session_scope() as session:
        operators.add(session, EMAIL, PASSWORD)
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()

    page.goto(f"{site}/admin/runs/{run_id}")
    assert page.url == f"{site}/admin/login" and address(0) not in page.content()
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    assert page.url == f"{site}/admin"
    assert page.locator("svg.chart").count() == 2
    _shoot(page, "dashboard")

    page.click(f'a[href="/admin/runs/{run_id}"] >> nth=0')
    page.click("button:has-text('Pause')")
    assert "Paused: paused by ops@example.org (admin)" in page.content()
    assert _run(run_id).state == RunState.paused
    _shoot(page, "run")
    page.click("button:has-text('Resume')")  # in-process: the web process sends the rest
    assert page.locator("h1").inner_text() == f"Run {run_id}: done"
    assert _run(run_id).state == RunState.done

    page.click("header >> text=Subscribers")
    page.fill("#q", "reader00001")
    page.click("button:has-text('Search')")
    page.click(f"text={address(1)}")
    page.click("button:has-text('Suppress')")
    with session_scope() as session:
        assert session.exec(select(Suppression.email)).all() == [address(1)]
    assert "suppressed: operator" in page.content()
    _shoot(page, "subscriber")

    stale = context.cookies()
    page.click("header button:has-text('Sign out')")
    assert page.url == f"{site}/admin/login"
    page.goto(f"{site}/admin")
    assert page.url == f"{site}/admin/login"  # signed out for real

    context.add_cookies(stale)  # the old session cookie, replayed
    page.goto(f"{site}/admin/subscribers?q=reader")
    assert page.url == f"{site}/admin/login" and address(1) not in page.content()

    fresh = browser.new_context()  # no session at all
    for path in ("/admin", f"/admin/runs/{run_id}", "/admin/subscribers/1"):
        other = fresh.new_page()
        other.goto(f"{site}{path}")
        assert other.url == f"{site}/admin/login", path
    assert fresh.request.post(f"{site}/admin/runs/{run_id}/cancel").status == 401

    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    refused = context.request.post(f"{site}/admin/runs/{run_id}/cancel", form={"csrf": ""})
    assert refused.status == 403
    assert context.request.post(f"{site}/admin/runs/{run_id}/cancel").status == 403
    assert _run(run_id).state == RunState.done  # nothing changed
    context.close()
    fresh.close()
