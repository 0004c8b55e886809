"""The web process starts light: the ranking's heavy libraries load only when a route needs them."""

from __future__ import annotations

import subprocess
import sys

from tests import REPO


def test_importing_the_web_app_loads_no_ranking_model() -> None:
    probe = (
        "import sys, web.app; "
        "print(sorted(m for m in ('numba', 'sklearn', 'mjml', 'alembic') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
