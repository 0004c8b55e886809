"""The digest in headless Chromium: no horizontal scrolling on a phone, every title shown.

Screenshots are kept in tests/artifacts/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emails.render import RenderedEmail, build_digest
from emails.sample import sample_digest
from tests.conftest import service_unavailable
from tests.emails.browser import Chromium, find_chromium
from tests.emails.conftest import save


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        service_unavailable("chromium", "the binary is not installed (Debian `chromium`)")
    browser = Chromium(binary)
    try:
        yield browser
    finally:
        browser.close()


def check_layout(chromium: Chromium, email: RenderedEmail, name: str, width: int) -> dict:
    html = save(f"{name}.html", email.html.encode())
    facts = chromium.measure(html, width, html.with_name(f"{name}-{width}px.png"))
    assert facts["viewport"] == width
    assert facts["scrollWidth"] <= width, f"{name} scrolls sideways at {width}px: {facts}"
    assert len(facts["titles"]) == len(email.html.split('class="title"')) - 1 > 0
    for title in facts["titles"]:
        assert not title["hidden"] and title["width"] > 0 and title["height"] > 0, title
        assert title["left"] >= 0 and title["right"] <= width, title
    assert all(facts["images"]), "every image needs alt text"
    return facts


@pytest.mark.parametrize("width", [375, 800])
def test_digest_fits_width_and_shows_every_title(
    chromium: Chromium, digest: RenderedEmail, width: int
) -> None:
    facts = check_layout(chromium, digest, "digest", width)
    assert [t["text"] for t in facts["titles"]][2].startswith("\u03c3-PCA")


def test_digest_turns_dark_in_dark_mode(chromium: Chromium, digest: RenderedEmail) -> None:
    """The dark-mode rules must beat the inlined light colours (they carry !important)."""
    html = save("digest.html", digest.html.encode())
    light = chromium.measure(html, 375, html.with_name("digest-375px.png"))
    dark = chromium.measure(html, 375, html.with_name("digest-375px-dark.png"), scheme="dark")
    assert light["cardBackground"] == "rgb(246, 248, 250)"
    assert dark["cardBackground"] == "rgb(22, 27, 34)"
    assert dark["titleColor"] == "rgb(230, 237, 243)"


def test_digest_with_longest_fields_fits_a_phone(chromium: Chromium) -> None:
    """25 papers with the longest titles, author lists and unbroken URLs still fit 375 px."""
    check_layout(chromium, build_digest(sample_digest(25, worst=True)), "digest-worst", 375)


def test_layout_check_catches_horizontal_overflow(
    chromium: Chromium, digest: RenderedEmail
) -> None:
    """A fixed-width element wider than the phone must fail the check above."""
    wide = RenderedEmail(
        digest.subject,
        digest.html.replace("</body>", '<div style="width:600px">x</div></body>'),
        digest.text,
    )
    with pytest.raises(AssertionError, match="scrolls sideways"):
        check_layout(chromium, wide, "digest-broken", 375)


def test_notice_fits_a_phone(chromium: Chromium) -> None:
    from tests.emails.conftest import notice

    html: Path = save("confirm.html", notice("confirm").html.encode())
    facts = chromium.measure(html, 375, html.with_name("confirm-375px.png"))
    assert facts["scrollWidth"] <= 375, facts
