"""SpamAssassin (local tests only, no network) scores every email we send below 1.0."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import service_unavailable

LIMIT = 1.0


@pytest.fixture(scope="module")
def spamassassin() -> str:
    binary = shutil.which("spamassassin")
    if binary is None:
        service_unavailable("spamassassin", "the binary is not installed (Debian `spamassassin`)")
    return binary


def score(binary: str, eml: Path) -> tuple[float, str]:
    report = subprocess.run(
        [binary, "-L", "-t"], input=eml.read_bytes(), capture_output=True, timeout=120, check=True
    ).stdout.decode("utf-8", "replace")
    match = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", report, re.M)
    assert match, report[-2000:]
    return float(match.group(1)), report[report.find("Content analysis details") :]


@pytest.mark.parametrize("name", ["digest", "confirm", "welcome", "link"])
def test_spamassassin_scores_email_below_limit(
    spamassassin: str, emls: dict[str, Path], name: str
) -> None:
    points, details = score(spamassassin, emls[name])
    assert points < LIMIT, details


def test_spamassassin_score_is_read_from_a_real_verdict(spamassassin: str, tmp_path: Path) -> None:
    """GTUBE is SpamAssassin's standard test spam: proves the check above can fail."""
    eml = tmp_path / "gtube.eml"
    eml.write_bytes(
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\n"
        b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"
    )
    points, _ = score(spamassassin, eml)
    assert points >= LIMIT
