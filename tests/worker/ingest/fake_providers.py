"""A local HTTP server on 127.0.0.1 speaking arXiv's API (Atom), HF's /api/daily_papers (JSON) and
Cold Spring Harbor's details API (`fake_cshl`, from the records in `preprints`).

It serves the recorded responses in tests/fixtures/ by query parameters, exactly as the real
providers page them, and can be told to misbehave: a status, a body, a delay, for the next N
matching requests. Run it by hand for `paperboy fetch` against it:
    uv run python -m tests.worker.ingest.fake_providers --port 8765
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests import FIXTURES
from tests.worker.ingest import fake_cshl

ARXIV_PAGE_SIZE = 25  # how the recorded arXiv pages were cut
HF_PAGE_LIMIT = 10  # ... and the HF pages
EMPTY_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <title type="html">ArXiv Query: empty</title>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>
</feed>
"""


ENTRY_RE = re.compile(r"<entry>.*?</entry>", re.DOTALL)
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
  xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title type="html">ArXiv Query: {query}</title>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <opensearch:itemsPerPage>{total}</opensearch:itemsPerPage>
{entries}
</feed>
"""


@cache
def recorded_entries() -> dict[str, str]:
    """Every recorded arXiv entry's XML by its versionless id (what id_list and au: serve)."""
    out: dict[str, str] = {}
    for page in sorted((FIXTURES / "arxiv").glob("*.xml")):
        for entry in ENTRY_RE.findall(page.read_text(encoding="utf-8")):
            key = re.search(r"<id>http://arxiv.org/abs/(.+?)(v\d+)?</id>", entry)
            if key:
                out[key.group(1)] = entry
    return out


def arxiv_lookup(one: dict[str, str]) -> bytes | None:
    """id_list (ids arXiv does not know are absent) and au:"Name" searches, as arXiv answers
    them; None when the query is neither."""
    entries = recorded_entries()
    if one.get("id_list"):
        found = [entries[i] for i in one["id_list"].split(",") if i in entries]
    elif (m := re.fullmatch(r'au:"(.+)"', one.get("search_query", ""))) is not None:
        name = f"<name>{m.group(1)}</name>".casefold()
        found = [e for e in entries.values() if name in e.casefold()]
        found = found[: int(one.get("max_results", 10))]
    else:
        return None
    query = one.get("id_list") or one.get("search_query", "")
    return FEED.format(query=query, total=len(found), entries="\n".join(found)).encode()


@dataclass
class Rule:
    match: str  # substring of "path?query" (decoded)
    status: int = 200
    body: bytes | None = None  # None: the normal recorded response
    headers: dict | None = None
    delay: float = 0.0  # seconds before answering (a slow provider)
    times: int | None = None  # None: every matching request


class FakeProviders:
    def __init__(self, port: int = 0, clock: Callable[[], float] | None = None):
        self.rules: list[Rule] = []
        self.preprints: dict[str, list] = {}  # server -> records the details API lists
        self.requests: list[tuple[str, dict, float | None]] = []  # path, params, clock time
        self.clock = clock
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeProviders:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def respond(self, match: str, status: int = 200, **kw) -> None:
        self.rules.append(Rule(match, status, **kw))

    def hits(self, path_end: str) -> list[dict]:
        return [params for path, params, _ in self.requests if path.endswith(path_end)]

    def _rule_for(self, target: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.match in target and (rule.times is None or rule.times > 0):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def recorded(self, path: str, params: dict) -> tuple[int, bytes, str]:
        if (answer := fake_cshl.details(self.preprints, path)) is not None:
            return answer
        one = {k: v[0] for k, v in params.items()}
        if path.endswith("/api/query") and (found := arxiv_lookup(one)) is not None:
            return 200, found, "application/atom+xml; charset=utf-8"
        if path.endswith("/api/query"):
            size = int(one.get("max_results", 10))
            start = int(one.get("start", 0))
            if size != ARXIV_PAGE_SIZE or "cat:cs.LG" not in one.get("search_query", ""):
                return 400, b"recorded pages need max_results=25 and cat: terms", "text/plain"
            page = FIXTURES / "arxiv" / f"query_start_{start:04d}.xml"
            body = page.read_bytes() if page.exists() else None
            if body is None:
                total = len(list((FIXTURES / "arxiv").glob("*.xml")))
                body = EMPTY_FEED.format(total=total, start=start, size=size).encode()
            return 200, body, "application/atom+xml; charset=utf-8"
        if path.endswith("/api/daily_papers"):
            if int(one.get("limit", 50)) != HF_PAGE_LIMIT:
                return 400, b'{"error":"recorded pages need limit=10"}', "application/json"
            key = f"date_{one['date']}" if "date" in one else f"sort_{one.get('sort', 'new')}"
            page = FIXTURES / "hf" / f"daily_papers_{key}_p{one.get('p', '0')}.json"
            return 200, page.read_bytes() if page.exists() else b"[]", "application/json"
        return 404, b"not found", "text/plain"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                now = fake.clock() if fake.clock else None
                one = {k: v[0] for k, v in params.items()}
                fake.requests.append((parts.path, one, now))
                query = "&".join(f"{k}={v}" for k, v in one.items())
                rule = fake._rule_for(f"{parts.path}?{query}")
                status, body, ctype = fake.recorded(parts.path, params)
                headers = {}
                if rule:
                    time.sleep(rule.delay)
                    status = rule.status
                    body = rule.body if rule.body is not None else body
                    headers = rule.headers or {}
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    port = parser.parse_args().port
    fake = FakeProviders(port).start()
    print(f"ARXIV_API_URL={fake.url}/api/query HF_API_URL={fake.url}/api", flush=True)
    print(f"ARXIV_PAGE_SIZE={ARXIV_PAGE_SIZE} HF_PAGE_LIMIT={HF_PAGE_LIMIT}", flush=True)
    try:
        fake.thread.join()
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
