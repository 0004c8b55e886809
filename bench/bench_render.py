"""Digest rendering: the compiled template vs the naive way (MJML + premailer per email).

Personalized digests of 10 papers (each subscriber has their own signed links), one process,
one core. Both ways run in the same process, on the same contexts, one after the other.

    uv run python -m bench.bench_render      (or: uv run paperboy bench render)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.message import EmailMessage

from emails.compile import (
    TEMPLATES,
    html_environment,
    load_template,
    mjml_to_inlined_html,
    render_partials,
    text_template,
)
from emails.message import build_message
from emails.render import RenderedEmail, build_digest, digest_values, unsubscribe_headers
from emails.sample import sample_digest

PAPERS = 10
SUBSCRIBERS = 500
MIN_SECONDS = 1.0


def naive_digest(ctx) -> RenderedEmail:
    """What we avoid: compile the MJML and inline the CSS again for every single email."""
    source = render_partials((TEMPLATES / "digest.mjml").read_text(encoding="utf-8"))
    html_template = html_environment().from_string(mjml_to_inlined_html(source))
    values = digest_values(ctx)
    return RenderedEmail(
        subject=values["subject"],
        html=html_template.render(values),
        text=text_template("digest").render(values),
        headers=unsubscribe_headers(ctx),
    )


def assembled(ctx) -> EmailMessage:
    message = build_message(
        build_digest(ctx), to=ctx.to_email, sender="digest@paperboy.example", message_id="<x@y>"
    )
    message.as_bytes()
    return message


def rate(fn: Callable, contexts: list, min_seconds: float = MIN_SECONDS) -> tuple[int, float]:
    """(emails, seconds): whole passes over the contexts until min_seconds have passed."""
    done, start = 0, time.perf_counter()
    while True:
        for ctx in contexts:
            fn(ctx)
            done += 1
            if time.perf_counter() - start >= min_seconds and done >= 3:
                return done, time.perf_counter() - start


def main() -> None:
    contexts = [sample_digest(PAPERS, subscriber_id=i) for i in range(SUBSCRIBERS)]
    load_template("digest")  # the one-time compile, outside the timing
    rows = [
        ("compiled template (HTML + text)", *rate(build_digest, contexts)),
        ("compiled + RFC 5322 message bytes", *rate(assembled, contexts)),
        ("naive: MJML + premailer per email", *rate(naive_digest, contexts, 3 * MIN_SECONDS)),
    ]
    naive = rows[-1][1] / rows[-1][2]
    print(f"digests of {PAPERS} papers, {SUBSCRIBERS} subscribers, one process (one core)\n")
    print(f"{'way':<36} {'emails':>8} {'seconds':>8} {'per second':>11} {'vs naive':>9}")
    for name, count, seconds in rows:
        per_second = count / seconds
        ratio = per_second / naive
        print(f"{name:<36} {count:>8} {seconds:>8.2f} {per_second:>11,.0f} {ratio:>8.0f}x")


if __name__ == "__main__":
    main()
