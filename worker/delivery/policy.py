"""Every reason a run pauses or resumes, as pure rules over plain data (no database).

Two causes pause a running run: the provider refused our credentials (ours to fix: an
operator resumes), or the circuit breaker saw SEND_BREAKER_THRESHOLD transient failures in a
row across every worker's waves (the provider looks unhealthy: it resumes by itself after
SEND_BREAKER_COOLDOWN_SECONDS). An operator's `paperboy runs pause` needs no rule.
`send.record` persists what these rules decide; the reaper applies `resumes_by_itself`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from config import Settings
from emails.providers.registry import credential_hint


@dataclass(frozen=True)
class Wave:
    """What one wave's outcomes tell the pause rules."""

    sent: int = 0
    refused: tuple[str, ...] = ()  # the provider's message for each refused credential
    transient: tuple[str, ...] = ()  # ... for each transient failure (a 429 is rate, not health)

    @property
    def resets_streak(self) -> bool:
        """One send that went through shows the provider healthy: the breaker counts failures
        in a row."""
        return self.sent > 0


@dataclass(frozen=True)
class Pause:
    reason: str
    resume_at: datetime | None = None  # set: the run resumes by itself then


def after_wave(wave: Wave, streak: int, settings: Settings, now: datetime) -> Pause | None:
    """Whether the run pauses after this wave; `streak` is the run's count of transient
    failures in a row, this wave included."""
    if wave.refused:
        return Pause(
            f"the provider refused our credentials: {wave.refused[0]}; {auth_hint(settings)}"
        )
    if wave.transient and streak >= settings.send_breaker_threshold:
        resume_at = now + timedelta(seconds=settings.send_breaker_cooldown_seconds)
        return Pause(
            f"circuit breaker: {streak} transient failures in a row "
            f"(last: {wave.transient[-1]}); resumes by itself at {resume_at:%H:%M:%S} UTC",
            resume_at,
        )
    return None


def auth_hint(settings: Settings) -> str:
    """What a run paused by refused credentials tells the operator: what the configured
    provider says to check, then how to go on."""
    return f"{credential_hint(settings)}, then `paperboy runs resume`"


def resumes_by_itself(resume_at: datetime | None, now: datetime) -> bool:
    """A paused run resumes by itself only when its pause set a time (the breaker's cool-down)
    and that time has come; any other pause waits for `paperboy runs resume`."""
    return resume_at is not None and resume_at <= now


@dataclass(frozen=True)
class Window:
    """A run's most recent sends and what the provider reported about them so far."""

    sends: int
    hard_bounces: int = 0
    complaints: int = 0
    soft_bounces: int = 0  # counted and shown, never a reason to pause


def guard(window: Window, settings: Settings) -> Pause | None:
    """The deliverability guard: pause when hard bounces or spam complaints over the window
    pass their threshold (mailbox providers judge a sender by these two). Too few sends say
    nothing yet. Resuming is the operator's decision: the pause sets no time."""
    if window.sends < max(settings.guard_min_sends, 1):
        return None
    for name, count, limit in (
        ("hard-bounce rate", window.hard_bounces, settings.guard_hard_bounce_rate),
        ("spam-complaint rate", window.complaints, settings.guard_complaint_rate),
    ):
        rate = count / window.sends
        if rate > limit:
            return Pause(
                f"deliverability guard: {name} {rate:.1%} ({count} of the last "
                f"{window.sends} sends) is over {limit:.1%}; clean the list, then "
                "`paperboy runs resume`"
            )
    return None
