"""Digests from fragments (`emails.fill`) are the plain Jinja render, byte for byte, and
their JSON strings json.dumps's."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from emails import fill
from emails.compile import load_template, text_template
from emails.providers import sendgrid
from emails.providers.base import Envelope
from emails.render import PaperCard, ReaderCard, _filler, build_digest, digest_values
from emails.sample import sample_digest


def plain(ctx) -> tuple[str, str]:
    values = digest_values(ctx)
    return load_template("digest").render(values), text_template("digest").render(values)


def contexts():
    """Digests alike in their papers and unlike in everything a fragment must not keep: the
    reader's links, why-lines, positions (1 to 12: one digit and two), the archive link or
    none, full abstracts, a quiet day, no trending, the worst-case fields."""
    out = []
    for reader in range(3):
        ctx = sample_digest(12, subscriber_id=reader)
        out.append(ctx)
        papers = list(reversed(ctx.papers))  # the same papers at other positions
        papers[0] = replace(papers[0], why=f"matches “reader {reader}” & <more>")
        papers[1] = replace(papers[1], why="", url=None, ref_url=None, ref="")
        out.append(replace(ctx, papers=papers, archive_url="" if reader else ctx.archive_url))
    ctx = out[0]
    out += [
        replace(ctx, full_abstracts=True),
        replace(ctx, papers=[], note="arXiv does not announce on Saturdays"),
        replace(ctx, trending=[]),
        replace(ctx, papers=ctx.papers[:3]),
        sample_digest(10, worst=True),
        sample_digest(10, worst=True, subscriber_id=7),
    ]
    return out


def test_digests_from_fragments_are_the_plain_render() -> None:
    html, text = _filler(load_template("digest"), True), _filler(text_template("digest"), False)
    for ctx in contexts():
        rendered = build_digest(ctx)
        assert (rendered.html, rendered.text) == plain(ctx)
        assert rendered.json == (json.dumps(rendered.text), json.dumps(rendered.html))
        envelope = Envelope(rendered, ctx.to_email, "Paperboy <d@p.example>", "digest-1", "<x@y>")
        assert sendgrid.encoded(envelope) == sendgrid.ENCODE(sendgrid.payload(envelope)).encode()
    assert not html.failed and not text.failed  # every card came from a fragment
    assert html.cards and text.cards and text.whys


def test_a_card_block_reading_what_a_fragment_cannot_keep_falls_back_to_jinja(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A card block that reads the reader's topics (not a slot): the first render finds it,
    and that email and every later one is rendered by plain Jinja, the same bytes."""
    template = load_template("digest").environment.from_string(
        "{% for p in papers %}{% block pick scoped %}<p>{{p.title}} {{p.topics}}</p>"
        "{% endblock %}{% endfor %}"
    )
    filler = fill.Filler(template, True, PaperCard)
    ctx = sample_digest(3)
    values = digest_values(ctx)
    assert filler.render(values) == (template.render(values), None)
    assert filler.failed and "without fragments" in caplog.text


def test_a_stand_in_mark_in_a_paper_falls_back_to_jinja() -> None:
    ctx = sample_digest(3)
    papers = [replace(ctx.papers[0], title="A title with a \x01 in it"), *ctx.papers[1:]]
    ctx = replace(ctx, papers=papers)
    filler = fill.Filler(load_template("digest"), True, PaperCard)
    assert filler.render(digest_values(ctx)) == (plain(ctx)[0], None)
    assert filler.failed


def test_cards_sharing_a_face_are_the_plain_render() -> None:
    """The sender's cards (`ReaderCard`): a fragment is keyed by the face's id and the
    reader's `ref`; readers sharing a paper's face get their own values, and an updated paper
    (another face) or another `ref` gets a fragment of its own."""
    first = sample_digest(12, subscriber_id=1)
    faces = {c.title: c for c in first.papers + first.trending}  # one face per paper

    def sent(ctx):
        def card(c: PaperCard) -> ReaderCard:
            reader = (c.url, c.why, c.more_url, c.less_url, c.topics, c.ref, c.ref_url)
            return ReaderCard(faces[c.title], *reader)

        return replace(ctx, papers=[*map(card, ctx.papers)], trending=[*map(card, ctx.trending)])

    out = [sent(sample_digest(12, subscriber_id=reader)) for reader in range(3)]
    top, *rest = out[1].papers
    updated = top._replace(face=replace(top.face, title="Corrected title"))
    out.append(replace(out[1], papers=[top._replace(ref="Another ref"), updated, *rest]))
    html = fill.Filler(load_template("digest"), True, PaperCard)
    text = fill.Filler(text_template("digest"), False, PaperCard)
    for ctx in out:
        values = digest_values(ctx)
        assert html.render(values)[0] == load_template("digest").render(values)
        assert text.render(values)[0] == text_template("digest").render(values)
    assert "Corrected title" in html.render(digest_values(out[-1]))[0]
    assert not html.failed and not text.failed
    assert set(html.faces.values()) >= {*faces.values(), updated.face}  # kept while keyed
