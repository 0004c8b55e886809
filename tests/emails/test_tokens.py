"""Tokens are itsdangerous's, byte for byte, but never compressed: `make_token` skips the
library's set-up per call (a digest signs three dozen links: one keyed HMAC and one JSON
encoder, built once) and its deflate, and `read_token` verifies with the library itself, which
reads compressed tokens (links already sent) too."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer

from emails import tokens

SECRET = "a-secret-key-long-enough-for-tests-0123456789"


@pytest.mark.parametrize(
    ("purpose", "extra"),
    [
        ("feedback", {"paper_id": "2611.00001", "vote": -1}),
        ("unsubscribe", {}),
        ("digest", {"digest_id": 9876543}),
        ("email", {"address": "jürgen.müller@bücher.example"}),  # not ASCII
    ],
)
def test_make_token_is_itsdangerous_byte_for_byte(
    purpose: str, extra: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.time", lambda: 1764900000.25)
    payload = [123456, 3, *(extra.get(k) for k in tokens.EXTRA.get(purpose, ()))]
    expected = URLSafeTimedSerializer(SECRET, salt=f"paperboy.{purpose}").dumps(payload)
    # twice: the key is derived once and must come out of the first token untouched
    assert tokens.make_token(SECRET, purpose, 123456, 3, **extra) == expected
    assert tokens.make_token(SECRET, purpose, 123456, 3, **extra) == expected


def test_a_payload_deflate_would_shorten_is_signed_plain_and_old_compressed_links_still_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """itsdangerous compresses this payload (a leading "."); ours is the plain form, which the
    library verifies, and a link made compressed before still reads back."""
    monkeypatch.setattr("time.time", lambda: 1764900000.25)
    address = "reader." * 30 + "@example.org"
    serializer = URLSafeTimedSerializer(SECRET, salt="paperboy.email")
    old = serializer.dumps([123456, 3, address])
    assert old.startswith(".")  # compressed
    ours = tokens.make_token(SECRET, "email", 123456, 3, address=address)
    assert not ours.startswith(".") and len(ours) > len(old)
    assert serializer.loads(ours) == [123456, 3, address]
    for token in (old, ours):
        data = tokens.read_token(SECRET, "email", token)
        assert (data.subscriber_id, data.version, data.address) == (123456, 3, address)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_token(SECRET, "email", "." + ours)  # not a compressed token


@pytest.mark.parametrize(
    ("purpose", "extra"),
    [
        ("feedback", {"paper_id": "2611.00001", "vote": -1}),
        ("click", {"paper_id": "10.1101/2026.01.01.123456", "digest_id": 9876543}),
        ("digest", {"digest_id": 9876543}),
        ("feed", {}),
        ("email", {"address": "reader." * 30 + "@example.org"}),  # itsdangerous would compress it
    ],
)
def test_reader_links_are_link_byte_for_byte(
    purpose: str, extra: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A digest's links come from `reader_links`; the web reads them as `link` made them."""
    monkeypatch.setattr("time.time", lambda: 1764900000.25)
    make = tokens.reader_links("https://paperboy.example/", SECRET, 123456, 3)
    expected = tokens.link(
        "https://paperboy.example/", SECRET, purpose, subscriber_id=123456, version=3, **extra
    )
    assert make(purpose, *(extra[k] for k in tokens.EXTRA.get(purpose, ()))) == expected


def test_a_made_token_reads_back_and_a_tampered_one_does_not() -> None:
    token = tokens.make_token(SECRET, "feedback", 7, 2, paper_id="2611.00001", vote=1)
    data = tokens.read_token(SECRET, "feedback", token)
    assert (data.subscriber_id, data.version, data.paper_id, data.vote) == (7, 2, "2611.00001", 1)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_token(SECRET, "unsubscribe", token)  # another purpose: another key
    with pytest.raises(tokens.InvalidToken):
        tokens.read_token(SECRET + "x", "feedback", token)
