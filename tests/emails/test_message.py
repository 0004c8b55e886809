"""RFC 5322 assembly: the headers inbox providers and our webhooks rely on."""

from __future__ import annotations

import email
import re
from email.policy import default
from pathlib import Path

from emails.render import RenderedEmail
from emails.tokens import read_token
from tests.emails.conftest import SECRET


def parsed(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=default)


def test_digest_carries_one_click_unsubscribe_and_list_headers(emls: dict[str, Path]) -> None:
    msg = parsed(emls["digest"])
    match = re.fullmatch(
        r"<(https://paperboy\.example/u/([^>]+))>, <(mailto:unsubscribe@paperboy\.example\?[^>]+)>",
        str(msg["List-Unsubscribe"]),
    )
    assert match, msg["List-Unsubscribe"]
    assert read_token(SECRET, "unsubscribe", match.group(2)).subscriber_id == 4242
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["List-Id"] == "Paperboy digest <digest.paperboy.example>"
    assert msg["Message-ID"] == "<digest@paperboy.example>" and msg["Date"]


def test_digest_ref_header_carries_no_personal_data(
    emls: dict[str, Path], digest: RenderedEmail
) -> None:
    ref = parsed(emls["digest"])["X-Paperboy-Digest"]
    assert ref == "digest-4242"
    assert "@" not in ref and "reader" not in ref


def test_subject_and_parts(emls: dict[str, Path], digest: RenderedEmail) -> None:
    msg = parsed(emls["digest"])
    assert msg["Subject"] == "10 new papers on LoRA and more" == digest.subject
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()
    assert "多语言检索增强 🚀" in text and "σ-PCA" in text  # noqa: RUF001
    assert "Less like this: https://paperboy.example/f/" in text


def test_every_notice_is_a_complete_message(emls: dict[str, Path]) -> None:
    for name in ("confirm", "welcome", "link"):
        msg = parsed(emls[name])
        assert msg["Date"] and msg["Message-ID"] and msg["Subject"]
        assert msg.get_body(("plain",)).get_content().strip()
        assert "<html" in msg.get_body(("html",)).get_content()


def test_unsubscribe_urls_are_never_encoded_or_split_on_the_wire(emls: dict[str, Path]) -> None:
    """Folded only between the URIs; a long signed URL stays one readable word."""
    raw = emls["digest"].read_bytes().decode("ascii")
    header = re.search(r"^List-Unsubscribe: (.*?)\r\n(?! )", raw, re.M | re.S).group(1)
    assert "=?" not in header
    lines = header.split("\r\n ")
    assert [line[0] for line in lines] == ["<", "<"] and all(len(x) < 998 for x in lines)
