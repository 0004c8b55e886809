"""Tokens are itsdangerous's, byte for byte: `make_token` skips the library's set-up per call
(a digest signs a dozen links: one keyed HMAC and one JSON encoder, built once), and
`read_token` verifies with the library itself."""

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
        ("email", {"address": "reader." * 30 + "@example.org"}),  # long enough to be compressed
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


@pytest.mark.parametrize(
    ("purpose", "extra"),
    [
        ("feedback", {"paper_id": "2611.00001", "vote": -1}),
        ("click", {"paper_id": "10.1101/2026.01.01.123456", "digest_id": 9876543}),
        ("digest", {"digest_id": 9876543}),
        ("feed", {}),
        ("email", {"address": "reader." * 30 + "@example.org"}),  # long enough to be compressed
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


def test_small_payloads_deflate_as_zlib_compress_does() -> None:
    """`_packed` deflates a link's payload in a small state; its bytes, and whether it is
    used at all, are `zlib.compress`'s: over payloads of every length up to SMALL and past
    it, from alphabets of 1 to 95 characters, repetitive (compressed) and not."""
    import random
    import zlib

    assert tokens.SMALL_OK
    rnd = random.Random(20)
    alphabets = [b"0", b"01", b"0123", b'[],"01', b"0123456789", bytes(range(32, 127))]
    compressed = 0
    for _ in range(20000):
        alphabet = rnd.choice(alphabets)
        size = rnd.randint(1, tokens.SMALL + 8)
        if rnd.random() < 0.5:
            data = bytes(rnd.choice(alphabet) for _ in range(size))
        else:
            unit = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6)))
            data = bytes(c if rnd.random() > 0.1 else rnd.choice(alphabet) for c in unit * 50)
            data = data[:size]
        packed = zlib.compress(data)
        expected = packed if len(packed) < len(data) - 1 else None
        assert tokens._packed(data) == expected, data
        compressed += expected is not None
    assert 2000 < compressed < 18000  # both outcomes well covered
