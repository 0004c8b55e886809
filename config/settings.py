"""The one Settings object: every knob Paperboy has, read from env vars and `.env`.

Unset means the embedded default (SQLite, in-process tasks, file outbox), so
`paperboy demo` runs on a fresh machine; production switches by env vars only.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE = "secret_key"


class ConfigError(RuntimeError):
    """A configuration that cannot work; raised at start-up, never swallowed."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    paperboy_home: Path = Path(".paperboy")
    database_url: str | None = None
    redis_url: str | None = None
    mail_backend: str = "outbox"  # a name in emails.providers.registry, checked there
    outbox_dir: Path | None = None
    # Settings that hold a secret are SecretStr: a repr or an error never prints them.
    sendgrid_api_key: SecretStr | None = None
    sendgrid_api_url: str = "https://api.sendgrid.com"
    sendgrid_webhook_public_key: str | None = None
    smtp_url: SecretStr | None = None
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    hf_api_url: str = "https://huggingface.co/api"
    biorxiv_api_url: str = "https://api.biorxiv.org"  # Cold Spring Harbor's details API
    medrxiv_api_url: str = "https://api.biorxiv.org"  # the same API serves both servers
    base_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr | None = None
    from_email: str = "Paperboy <digest@paperboy.example>"
    postal_address: str = "Paperboy Demo, 1 Example Street, 00000 Example City"
    log_level: str = "INFO"
    # Database pool of each process (PostgreSQL). The web process runs blocking work on 40
    # threads (AnyIO's default): 10 + 30 lets every one of them hold a connection at once.
    db_pool_size: int = 10
    db_max_overflow: int = 30
    db_pool_timeout_seconds: float = 10.0

    # Sources
    arxiv_categories: list[str] = Field(
        default_factory=lambda: ["cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML"]
    )
    arxiv_min_interval_seconds: float = 3.0  # arXiv API terms of use: one request per 3 s
    arxiv_page_size: int = 100
    arxiv_max_results: int = 2000  # per run
    hf_min_interval_seconds: float = 1.0
    hf_page_limit: int = 50
    hf_max_pages: int = 10  # per day
    hf_trending_pages: int = 1
    fetch_window_days: int = 3  # default look-back of a fetch run
    fetch_max_days: int = 14  # `--since` further back is clamped to this
    fetch_max_attempts: int = 5
    fetch_backoff_seconds: float = 2.0  # first retry wait; doubles per attempt
    fetch_max_response_bytes: int = 20_000_000  # a bigger answer fails its request unread
    arxiv_fetch_every_hours: float = 6.0  # beat schedule
    hf_fetch_every_hours: float = 1.0  # beat schedule
    cshl_min_interval_seconds: float = 1.0  # Cold Spring Harbor's API: one request at a time
    cshl_fetch_every_hours: float = 6.0  # beat schedule (both preprint servers post daily)
    cshl_max_records: int = 20_000  # per run and server; a wider window is cut, with a warning
    # Ranking and digests
    candidate_window_days: int = 7
    corpus_window_days: int = 30  # TF-IDF is fitted on these days of papers + every liked paper
    phrase_min_df: int = 2  # a 2-word phrase must be in this many corpus papers (words: 1)
    tfidf_max_df: float = 0.5  # ...and in at most this share of them (20+ papers)
    title_weight: float = 0.3  # a title word counts 1 + this times an abstract word
    max_papers_limit: int = 25
    # A reader's send day with nothing new from their sources: `trending` sends the trending
    # papers under a line saying why, `skip` sends nothing (until readers choose it themselves).
    max_trending_count: int = 10  # "Trending today" papers a subscriber may ask for, at most
    relevance_floor: float = 0.01  # cosine below which a paper is not sent (`bench quality` (d))
    relative_floor: float = 0.0  # ...nor below this share of their own best match (0: off)
    trending_weight: float = 0.1
    author_boost: float = 0.15  # followed author: added to the score, and passes the floor
    category_boost: float = 0.03  # chosen arXiv category: a boost, never a filter
    liked_category_boost: float = 0.05  # a category of the reader's liked papers (`bench quality`)
    liked_weight: float = 1.0  # Rocchio: mean of liked papers, beside the interests text
    disliked_weight: float = 0.5  # Rocchio: mean of disliked papers, subtracted
    click_weight: float = 0.5  # Rocchio: mean of papers opened from a digest, a soft like
    feedback_depth: int = 5  # a reader with typed interests alone: first picks fed back
    feedback_category_boost: float = 0.2  # ...with their categories' prior (`bench quality`)
    feedback_weight: float = 0.005  # ...their words' weight, under RELEVANCE_FLOOR
    feedback_carry_share: float = 0.8  # ...a paper filed where this share of them are passes
    # RELEVANCE_FLOOR, if all FEEDBACK_DEPTH were found (`bench quality` (d) calibrates it)
    click_min_seconds: float = 60.0  # a click sooner after delivery is a link scanner's
    click_burst_links: int = 3  # ...as is one of this many links of a digest opened within
    click_burst_seconds: float = 10.0  # this many seconds of each other
    rank_chunk_size: int = 1000  # subscribers per call of the compiled ranking loop
    rank_threads: int = 2  # chunks ranked at once (the compiled loop releases the GIL)
    plan_page_size: int = 5000  # subscribers per query and ranking batch (< any bind limit)
    # readers per planning task: every worker process plans some, and sending starts after the
    # first chunk (its candidates and model are the process's once per edition, however small)
    plan_chunk_size: int = 500
    # Delivery
    send_max_attempts: int = 5
    http_timeout_seconds: float = 20.0
    send_rate_per_second: float = 500.0  # shared by every worker (Redis token bucket)
    # requests in flight per worker process (a wave): while they are out the process renders
    # the next wave, so enough to cover the provider's answer time keeps its core busy
    send_concurrency: int = 64
    send_chunk_size: int = 500  # digests per send task (a planning chunk's, in one)
    send_retry_base_seconds: float = 30.0  # first transient-failure retry; doubles per attempt
    send_in_process_max_wait_seconds: float = 120.0  # no Redis: total retry wait, then failed
    send_breaker_threshold: int = 20  # transient failures in a row that pause the run ...
    send_breaker_cooldown_seconds: float = 120.0  # ... until it resumes by itself
    send_reap_every_seconds: float = 15.0  # the reaper's beat (stale sends, lost tasks, retries)
    send_requeue_idle_seconds: float = 30.0  # a run with work but no progress this long: requeue
    send_stale_seconds: float = 900.0  # a digest in `sending` this long is settled by the reaper
    # What the reaper does with a stale send no provider event accounts for. `resend`: a crash
    # leaves at most one wave in `sending`, most of it never posted, and SendGrid reports every
    # message it accepted within seconds, so no event after SEND_STALE_SECONDS means it never
    # arrived; `fail` would lose those emails for sure to avoid a rare duplicate. Choose `fail`
    # when no provider events come back (SMTP, or the signed webhook not set up).
    send_unresolved: Literal["resend", "fail"] = "resend"
    # A request written whole that got no answer (a reset, a hang-up, a timeout) may have been
    # accepted: it is not posted again before this long, and not at all if an event shows the
    # provider has it (SendGrid reports each accepted message within seconds); with still no
    # event, SEND_UNRESOLVED decides, as for a stale send.
    send_unanswered_wait_seconds: float = 120.0
    # Deliverability guard: a run pauses itself when, over its last GUARD_WINDOW_SENDS sends
    # (at least GUARD_MIN_SENDS of them), hard bounces or spam complaints pass these rates.
    # Gmail and Yahoo's bulk-sender rules: spam complaints under 0.3%; hard bounces above 5%
    # get a sender blocked (SendGrid, Mailchimp and SES review accounts past 5%).
    guard_hard_bounce_rate: float = 0.05
    guard_complaint_rate: float = 0.003
    guard_window_sends: int = 2000
    guard_min_sends: int = 500
    webhook_max_body_bytes: int = 4 * 1024 * 1024  # SendGrid batches are far below this
    webhook_max_age_seconds: float = 600.0  # signed timestamp older (or newer) than this: refused
    # Web
    confirm_resend_minutes: int = 10  # at most one confirm email per address per this many minutes
    max_interests_chars: int = 2000
    max_list_entries: int = 50  # followed authors, categories (muted words: twice this)
    max_entry_chars: int = 200  # one author, category or muted word
    author_search_limit: int = 30  # papers listed by the sign-up's arXiv author search
    # Requests that send an email (sign-up, "email me my link"), per fixed window; shared by
    # every web process through Redis when REDIS_URL is set, in-process otherwise.
    mail_requests_per_ip: int = 10
    mail_requests_per_address: int = 3
    mail_requests_overall: int = 1000
    mail_requests_window_seconds: int = 3600
    max_body_bytes: int = 64 * 1024  # any request body but a webhook's, refused before reading
    # /admin: sessions last this long; sign-in attempts per client and per account per window
    admin_session_hours: float = 12.0
    admin_login_per_ip: int = 20
    admin_login_per_account: int = 5
    admin_login_window_seconds: int = 900
    metrics_token: SecretStr | None = None  # /metrics answers 401 without it (and while unset)

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if not self.is_embedded and not self.secret_key:
            raise ConfigError(
                "SECRET_KEY is required when DATABASE_URL is not SQLite: every worker and web "
                "process must sign links with the same key."
            )
        if not self.is_embedded and not self.redis_url:
            raise ConfigError(
                "REDIS_URL is required when DATABASE_URL is not SQLite: a production database "
                "with in-process tasks would send from the web process. Set REDIS_URL."
            )
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.paperboy_home / 'paperboy.db'}"

    @property
    def is_embedded(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def outbox_path(self) -> Path:
        return self.outbox_dir or self.paperboy_home / "outbox"

    @property
    def artifacts_path(self) -> Path:
        return self.paperboy_home / "artifacts"

    @property
    def tasks_in_process(self) -> bool:
        return not self.redis_url

    def signing_key(self) -> str:
        """SECRET_KEY, or one generated once into PAPERBOY_HOME for the embedded default (read
        from disk once per process: every link signed and checked asks for it)."""
        if self.secret_key:
            return self.secret_key.get_secret_value()
        return _generated_key(self.paperboy_home.resolve())


@lru_cache
def _generated_key(home: Path) -> str:
    path = home / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once still agree on one key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
