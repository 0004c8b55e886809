"""Headless Chromium over the DevTools protocol on a pipe (`--remote-debugging-pipe`).

No websocket client and no browser download: the Debian `chromium` binary, fd 3 for our
commands and fd 4 for its replies, NUL-separated JSON. Device metrics are emulated, so a
375 px viewport really is 375 px (a headless window cannot be narrower than 500 px).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]

# Facts a test asserts on; evaluated in the page after load.
PROBE = """(() => {
  const doc = document.documentElement;
  const titles = [...document.querySelectorAll('.title a')].map((a) => {
    const r = a.getBoundingClientRect();
    const s = getComputedStyle(a);
    return {text: a.textContent, left: r.left, right: r.right, width: r.width, height: r.height,
            hidden: s.visibility === 'hidden' || s.display === 'none' || Number(s.opacity) === 0};
  });
  const images = [...document.images].map((i) => i.getAttribute('alt'));
  const card = document.querySelector('.card');
  return {viewport: doc.clientWidth, scrollWidth: doc.scrollWidth,
          scrollHeight: doc.scrollHeight, titles, images,
          cardBackground: card && getComputedStyle(card).backgroundColor,
          titleColor: titles.length && getComputedStyle(document.querySelector('.title a')).color};
})()"""


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    """One browser process; `measure` loads a file at a width, probes it, screenshots it."""

    def __init__(self, binary: str, timeout: float = 30.0):
        self.profile = tempfile.mkdtemp(prefix="paperboy-chromium-")
        ours_in, theirs_in = os.pipe()  # they read fd 3
        theirs_out, ours_out = os.pipe()  # they write fd 4

        def wire() -> None:  # via fresh copies: dup2 onto itself would keep close-on-exec
            read_end, write_end = os.dup(ours_in), os.dup(ours_out)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=wire,  # single-threaded test helper
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(ours_in)
        os.close(ours_out)
        self.writer = os.fdopen(theirs_in, "wb", buffering=0)
        self.reader = os.fdopen(theirs_out, "rb", buffering=0)
        self.buffer = b""
        self.next_id = 0
        self.timeout = timeout
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable", session=self.session)

    def _read(self) -> dict:
        while b"\0" not in self.buffer:
            if not select.select([self.reader], [], [], self.timeout)[0]:
                raise TimeoutError(f"chromium sent nothing for {self.timeout:.0f}s")
            chunk = self.reader.read(1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.writer.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def _wait_event(self, method: str) -> None:
        while self._read().get("method") != method:
            pass

    def measure(self, html: Path, width: int, screenshot: Path, scheme: str = "light") -> dict:
        """Load `html` at `width` CSS px (mobile emulation below 600) in a light or dark
        colour scheme, probe it, and save a full-page PNG."""
        s = self.session
        scheme_feature = [{"name": "prefers-color-scheme", "value": scheme}]
        self.call("Emulation.setEmulatedMedia", session=s, features=scheme_feature)
        metrics = {"width": width, "deviceScaleFactor": 1, "mobile": width < 600}
        self.call("Emulation.setDeviceMetricsOverride", session=s, height=800, **metrics)
        self.call("Page.navigate", session=s, url=html.resolve().as_uri())
        self._wait_event("Page.loadEventFired")
        facts = self.call("Runtime.evaluate", session=s, expression=PROBE, returnByValue=True)
        facts = facts["result"]["value"]
        height = min(int(facts["scrollHeight"]), 16000)
        self.call("Emulation.setDeviceMetricsOverride", session=s, height=height, **metrics)
        shot = self.call("Page.captureScreenshot", session=s, format="png")
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        return facts

    def close(self) -> None:
        try:
            self.writer.close()
            self.proc.terminate()
            self.proc.wait(timeout=10)
        finally:
            self.reader.close()
            shutil.rmtree(self.profile, ignore_errors=True)
