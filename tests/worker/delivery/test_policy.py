"""The pause and resume rules, pure: plain outcomes in, a decision out (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config import Settings
from worker.delivery.policy import Pause, Wave, after_wave, auth_hint, resumes_by_itself

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _settings() -> Settings:
    return Settings(send_breaker_threshold=4, send_breaker_cooldown_seconds=30)


def test_a_refused_credential_pauses_until_an_operator_resumes() -> None:
    wave = Wave(sent=2, refused=("401 bad key", "401 bad key"), transient=("503",))
    assert after_wave(wave, 9, _settings(), NOW) == Pause(
        f"the provider refused our credentials: 401 bad key; {auth_hint(_settings())}"
    )


def test_the_breaker_trips_at_the_threshold_and_names_its_cool_down() -> None:
    wave = Wave(transient=("503 busy", "503 down"))
    assert after_wave(wave, 3, _settings(), NOW) is None
    pause = after_wave(wave, 4, _settings(), NOW)
    assert pause == Pause(
        "circuit breaker: 4 transient failures in a row (last: 503 down); "
        "resumes by itself at 09:30:30 UTC",
        NOW + timedelta(seconds=30),
    )


def test_a_wave_without_transient_failures_never_trips_the_breaker() -> None:
    assert after_wave(Wave(sent=3), 99, _settings(), NOW) is None
    assert after_wave(Wave(), 99, _settings(), NOW) is None


def test_a_sent_digest_resets_the_streak() -> None:
    assert Wave(sent=1, transient=("503",)).resets_streak
    assert not Wave(transient=("503",)).resets_streak


def test_only_a_pause_with_a_time_resumes_by_itself_once_that_time_has_come() -> None:
    assert resumes_by_itself(NOW, NOW)
    assert not resumes_by_itself(NOW + timedelta(seconds=1), NOW)
    assert not resumes_by_itself(None, NOW)  # credentials or an operator: a person resumes
