# ruff: noqa: RUF001 - Unicode look-alikes in expected outputs are on purpose
"""Pure building: escaping, truncation, links, the text alternative and the size budget."""

from __future__ import annotations

import json
import re
from dataclasses import fields, replace
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from config import Settings
from emails import compile as compiled
from emails.render import (
    AUTHOR_LIMIT,
    TEASER_LIMIT,
    TITLE_LIMIT,
    WHY_LIMIT,
    RenderedEmail,
    build_digest,
    clip,
    compact,
    digest_subject,
    for_reader,
    paper_card,
    paper_face,
    reader_lines,
    short_authors,
    stored_for_reader,
    teaser,
    term_reasons,
    why_line,
)
from emails.sample import sample_digest, sample_papers
from emails.tokens import read_token
from models.reasons import POPULAR, Reason
from tests.emails.conftest import ACTION_URL, SECRET, notice

P = Reason.phrase
GMAIL_CLIP_BYTES = 102 * 1000  # Gmail clips HTML past ~102 KB; stay under with decimal KB


class Links(HTMLParser):
    """(href, link text) for every <a>, and the alt of every <img>."""

    def __init__(self, html: str):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.images: list[str | None] = []
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open.append(dict(attrs).get("href") or "")
            self.links.append((self._open[-1], ""))
        elif tag == "img":
            self.images.append(dict(attrs).get("alt"))

    def handle_data(self, data: str) -> None:
        if self._open:
            href, text = self.links[-1]
            self.links[-1] = (href, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            self._open.pop()


def card(**fields):
    base = {
        "abs_url": "https://arxiv.org/abs/2401.00001",  # the link ingest stored
        "title": "A title",
        "abstract": "An abstract.",
        "authors": ["Ada Lovelace"],
        "reasons": [P("graphs")],
        "more_url": "https://paperboy.example/f/more",
        "less_url": "https://paperboy.example/f/less",
    }
    return paper_card(**(base | fields))


def render_one(**fields) -> RenderedEmail:
    ctx = sample_digest(1, trending=0)
    return build_digest(replace(ctx, papers=[card(**fields)]))


HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "{{ 7*7 }} {% if true %}jinja{% endif %}",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_paper_fields_render_as_inert_text(hostile: str) -> None:
    email = render_one(title=hostile, authors=[hostile], abstract=hostile, reasons=[P(hostile)])
    assert "<script" not in email.html
    assert "<img" not in email.html
    assert "onmouseover='" not in email.html
    titles = [text for href, text in Links(email.html).links if href.endswith("/abs/2401.00001")]
    assert titles[0] == hostile  # shown exactly, as text (and never run as template code)
    assert hostile in email.text  # the text part is not HTML: no entities there


def test_source_links_outside_http_never_reach_an_href() -> None:
    email = render_one(github_repo="javascript:alert(1)", abs_url="data:text/html,x")
    hrefs = [href for href, _ in Links(email.html).links]
    assert not [h for h in hrefs if not h.startswith(("https://", "http://"))]
    assert "Abstract" not in {text for _, text in Links(email.html).links}  # no made-up link
    assert "A title" in email.html and "Abstract:" not in email.text


def test_quote_in_a_source_url_cannot_break_out_of_the_attribute() -> None:
    email = render_one(github_repo='https://github.com/a/b" onmouseover="alert(1)')
    assert 'onmouseover="' not in email.html


def test_latex_in_title_and_abstract_is_readable_in_both_parts() -> None:
    email = render_one(title=r"$\sigma$-PCA", abstract=r"Runs in $O(d_{emb})$ memory.")
    for part in (email.html, email.text):
        assert "σ-PCA" in part and "O(d_emb)" in part
        assert "$" not in part.split("Why you")[0].split("σ-PCA", 1)[1]


def test_emoji_and_non_latin_scripts_survive() -> None:
    fields = {"title": "多语言检索增强 🚀", "authors": ["李华", "Ώρα Παπαδοπούλου"]}
    email = render_one(**fields, abstract="العربية and Ελληνικά 🧪")
    for part in (email.html, email.text):
        for word in ("多语言检索增强 🚀", "李华", "Ώρα Παπαδοπούλου", "العربية", "🧪"):
            assert word in part


def test_clip_cuts_at_a_word_with_an_ellipsis() -> None:
    text = "word " * 100
    cut = clip(text, 50)
    assert len(cut) <= 50 and cut.endswith("word…")
    assert clip("short  and\nspaced", 50) == "short and spaced"
    assert len(clip("x" * 500, 50)) == 50  # no space to cut at: cut anyway


def test_long_title_and_author_list_are_shortened() -> None:
    c = card(title="Scaling " * 100, authors=[f"Author {i}" for i in range(500)])
    assert len(c.title) <= TITLE_LIMIT and c.title.endswith("…")
    assert c.authors == "Author 0, Author 1, Author 2 et al."
    assert len(short_authors(["N" * 400])) <= AUTHOR_LIMIT
    assert short_authors(["A", "B", "C"]) == "A, B, C"


def test_teaser_prefers_ai_summary_and_whole_sentences() -> None:
    assert card(ai_summary="The gist.", abstract="Long abstract.").teaser == "The gist."
    sentences = "This is one sentence that says something. " * 20
    short = teaser(sentences)
    assert len(short) <= TEASER_LIMIT and short.endswith("something.")
    assert card(ai_summary=None, abstract="Only the abstract.").teaser == "Only the abstract."


def test_teaser_ends_at_a_sentence_and_drops_a_leading_label() -> None:
    abstract = (
        "Motivation: Exploring graphs is hard. Existing methods for link prediction, such as "
        "random walks, factorization and message passing, trade accuracy for memory in ways "
        "that are hard to predict. We fix that. A fourth sentence that does not fit anywhere."
    )
    shown = teaser(abstract)
    assert shown.startswith("Exploring graphs") and shown.endswith("We fix that.")
    assert teaser("BACKGROUND AND AIMS: We study x.") == "We study x."
    assert teaser("We propose: a method.") == "We propose: a method."  # not a label
    one_long = "A first sentence " + "that goes on " * 40 + "and ends."
    assert len(teaser(one_long)) <= TEASER_LIMIT and teaser(one_long).endswith("…")


def test_a_card_without_an_id_or_link_shows_no_made_up_link() -> None:
    """The bundled sample's papers are `sample-NNNN` with no page: no id, PDF or abstract link."""
    bare = card(key="sample-0042", abs_url=None)
    assert (bare.ref, bare.ref_url, bare.pdf_url, bare.url) == ("", None, None, None)
    arxiv = card(key="hep-th/9901001")
    assert (arxiv.ref, arxiv.pdf_url) == (
        "arXiv:hep-th/9901001",
        "https://arxiv.org/pdf/hep-th/9901001",
    )
    email = render_one(key="sample-0042", abs_url=None)
    links = Links(email.html).links
    assert not {text.strip() for _, text in links} & {"Abstract", "PDF"}
    assert all(href.startswith(("https://paperboy.example/", "#")) for href, _ in links)
    assert "arxiv.org" not in email.html and "arxiv.org" not in email.text


def test_a_table_of_contents_opens_a_digest_of_more_than_five_papers() -> None:
    five, six = sample_digest(5, trending=0), sample_digest(6, trending=0)
    assert "In this digest" not in build_digest(five).html
    html = build_digest(six).html
    assert "In this digest" in html and all(f'href="#p{i}"' in html for i in range(1, 7))
    assert "In this digest:" in build_digest(six).text


def test_a_quiet_days_note_row_is_there_only_when_there_is_a_note() -> None:
    """MJML drops Jinja text between its components, so the note's `{% if %}` lives in
    <mj-raw>: without it every digest carried an empty, padded note row under the header."""
    ctx = sample_digest(1, trending=0)
    plain = build_digest(ctx).html
    quiet = build_digest(replace(ctx, note="arXiv does not announce on Saturdays")).html
    note_row = 'padding-top:8px; word-break:break-word"'
    assert note_row not in plain
    assert quiet.count(note_row) == 1
    assert "Nothing new from your sources today: arXiv does not announce on Saturdays." in quiet


def test_badges_show_only_known_signals() -> None:
    known = render_one(
        source="arXiv",
        pages=[("Hugging Face", "https://huggingface.co/papers/2401.00001")],
        upvotes=42,
        comments=1,
        github_repo="org/repo",
        github_stars=1234,
    )
    assert "▲\u00a042" in known.html and "1\u00a0comment\u00a0" in known.html
    assert 'href="https://github.com/org/repo"' in known.html and "1.2k" in known.html
    assert 'href="https://huggingface.co/papers/2401.00001"' in known.html
    assert "Hugging Face: https://huggingface.co/papers/2401.00001" in known.text
    assert "arXiv\u00a0·" in known.html and "   arXiv\n" in known.text
    assert "42 upvotes · 1 comment · 1.2k GitHub stars" in known.text
    bare = render_one()
    assert "▲" not in bare.html and "GitHub" not in bare.html and "huggingface" not in bare.html


def test_why_line_reads_every_kind_of_reason() -> None:
    line = why_line([P("diffusion"), P("LoRA"), Reason.author("Ada Lovelace"), Reason.trending(42)])
    assert line == "matches “diffusion”, “LoRA”; by Ada Lovelace; trending: 42 upvotes"
    assert why_line([POPULAR]) == "popular today"
    assert why_line([Reason.close("image segmentation")]) == (
        "close to your interest “image segmentation”"
    )
    assert why_line([]) == ""


def test_subject_names_the_count_and_top_topic() -> None:
    cards = [
        card(reasons=[P("LoRA"), P("vision")]),
        card(reasons=[P("RAG")]),
        card(reasons=[P("LoRA")]),
    ]
    assert digest_subject(cards) == "3 new papers on LoRA and more"
    assert digest_subject(cards[1:2]) == "1 new paper on RAG"
    assert digest_subject([card(reasons=[POPULAR])]) == "1 trending paper for you today"


def test_top_topic_prefers_the_phrase_its_words_point_at() -> None:
    cards = [
        card(reasons=[P("image")]),
        card(reasons=[P("Image Segmentation")]),
        card(reasons=[P("segmentation"), P("image")]),
    ]
    assert digest_subject(cards) == "3 new papers on image segmentation and more"
    assert digest_subject([card(reasons=[P("graphs"), P("LoRA")])]) == "1 new paper on graphs"


def test_why_line_keeps_phrases_whole_and_names_the_liked_paper() -> None:
    assert why_line([P("Graph Neural"), P("Neural Networks"), P("node")]) == (
        "matches “Graph Neural Networks”, “node”"
    )
    assert why_line([P("message passing"), P("Message")]) == "matches “message passing”"
    line = why_line(
        [Reason.liked("Junction Tree Variational Autoencoder for Molecular Graph Generation")]
    )
    assert line == (
        "like “Junction Tree Variational Autoencoder for Molecular Graph Generation”, "
        "which you liked"
    )


def test_subject_names_the_strongest_phrases_whole_in_natural_case() -> None:
    cards = [
        card(reasons=[P("Graph Neural Networks"), P("message passing")]),
        card(reasons=[P("Graph Neural")]),  # the same topic, cut: counts for the whole phrase
        card(reasons=[P("graph neural"), P("neural networks"), P("Message Passing")]),
        card(reasons=[P("node classification")]),
    ]
    assert digest_subject(cards) == (
        "4 new papers on graph neural networks, message passing and more"
    )
    assert (
        digest_subject([card(reasons=[P("Policy gradient")])]) == "1 new paper on policy gradient"
    )
    assert digest_subject([card(reasons=[P("LoRA")]), card(reasons=[P("GNNs")])]).endswith(
        "on LoRA and more"
    )


def test_cards_show_the_papers_arxiv_categories() -> None:
    shown = render_one(categories=["cs.LG", "stat.ML", "cs.AI", "math.OC"])
    assert "cs.LG · stat.ML · cs.AI" in shown.html and "math.OC" not in shown.html
    assert "cs.LG · stat.ML · cs.AI" in shown.text


def test_trending_today_follows_the_picks_with_its_upvotes() -> None:
    email = build_digest(sample_digest(3))
    for part in (email.html, email.text):
        at = part.index("Trending today")
        assert part.index("ZipLoRA") < at  # the picks first
        assert at < part.index("Orca 2: Teaching Small Language Models How to Reason")
    assert "▲\u00a071" in email.html and "71 upvotes" in email.text
    assert email.html.count('class="card"') == 6
    assert email.subject.startswith("3 new papers")  # the subject counts the picks
    plain = build_digest(sample_digest(3, trending=0))
    assert "Trending today" not in plain.html and "Trending today" not in plain.text


def test_digest_header_preheader_and_footer(digest: RenderedEmail) -> None:
    assert "Sunday, 22 November 2026" in digest.html and "10 papers picked for you" in digest.html
    assert "Top pick: Visual In-Context Prompting · plus 9 more" in digest.html
    for part in (digest.html, digest.text):
        assert "You get this because reader@example.org subscribed" in part
        assert "1 Example Street" in part
    assert '<meta content="light dark" name="color-scheme">' in digest.html
    assert "prefers-color-scheme: dark" in digest.html


def test_footer_names_the_readers_frequency() -> None:
    for frequency, other in (("daily", "weekly"), ("weekly", "daily")):
        email = build_digest(replace(sample_digest(1, trending=0), frequency=frequency))
        for part in (email.html, " ".join(email.text.split())):
            assert f"s {frequency} research digest." in part
            assert other not in part


def test_every_link_is_absolute_and_listed_in_the_text_part(digest: RenderedEmail) -> None:
    parsed = Links(digest.html)
    assert parsed.links
    for href, _ in parsed.links:
        if href.startswith("#"):  # the table of contents: a card of this same email
            assert f'id="{href[1:]}"' in digest.html, href
            continue
        parts = urlsplit(href)
        assert parts.scheme in ("https", "http") and parts.netloc, href
        assert href in digest.text, f"{href} missing from the plain-text part"
    assert all(alt for alt in parsed.images)


def test_every_token_link_verifies_for_its_purpose(digest: RenderedEmail) -> None:
    purposes = {"u": "unsubscribe", "p": "preferences", "f": "feedback"}
    seen = set()
    for href, text in Links(digest.html).links:
        match = re.fullmatch(r"https://paperboy\.example/([upf])/([^/?#]+)", href)
        if not match:
            continue
        data = read_token(SECRET, purposes[match.group(1)], match.group(2))
        assert data.subscriber_id == 4242
        seen.add(data.purpose)
        label = text.strip()
        if data.purpose == "feedback":
            assert data.vote == (1 if "More like this" in label else -1), label
            assert data.paper_id.startswith("2311.")
        else:
            assert (
                label
                == {"unsubscribe": "Unsubscribe", "preferences": "Manage preferences"}[data.purpose]
            )
    assert seen == {"unsubscribe", "preferences", "feedback"}


def test_feedback_links_name_their_own_paper(digest: RenderedEmail) -> None:
    hrefs = [h for h, _ in Links(digest.html).links]
    arxiv = [h.rsplit("/", 1)[1] for h in hrefs if "/abs/" in h]
    votes = [read_token(SECRET, "feedback", h.rsplit("/", 1)[1]) for h in hrefs if "/f/" in h]
    assert [v.paper_id for v in votes if v.vote == 1] == list(dict.fromkeys(arxiv))


def test_digest_html_fits_gmail_at_max_papers_with_longest_fields() -> None:
    limit, trending = Settings().max_papers_limit, Settings().max_trending_count
    ctx = sample_digest(limit, worst=True, trending=trending)
    assert len(ctx.papers) == limit and all(len(c.title) >= TITLE_LIMIT - 20 for c in ctx.papers)
    html = build_digest(ctx).html
    assert html.count('class="card"') == limit + trending
    assert len(html.encode("utf-8")) <= GMAIL_CLIP_BYTES


def test_size_check_would_catch_a_bloated_digest() -> None:
    """Without the caps (raw 4,000-char abstracts), the same digest would be clipped."""
    ctx = sample_digest(Settings().max_papers_limit, worst=True)
    bloated = [replace(c, teaser=c.teaser * 20) for c in ctx.papers]
    assert len(build_digest(replace(ctx, papers=bloated)).html.encode()) > GMAIL_CLIP_BYTES


def test_notices_share_the_layout_and_carry_their_action() -> None:
    for kind in ("confirm", "welcome", "link"):
        email = notice(kind)
        assert 'class="brand"' in email.html and "1 Example Street" in email.html
        assert ACTION_URL in email.text
        assert [h for h, _ in Links(email.html).links].count(
            ACTION_URL
        ) == 2  # the button and the pasteable link


def test_template_compiles_once_and_each_email_only_fills_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_digest(sample_digest(2))  # compiled (or already cached)

    def slow_path(source: str) -> str:
        raise AssertionError("MJML/premailer ran for an email")

    monkeypatch.setattr(compiled, "mjml_to_inlined_html", slow_path)
    assert build_digest(sample_digest(3, trending=0)).html.count('class="card"') == 3


def test_template_cache_is_keyed_by_source_hash(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    for path in compiled.TEMPLATES.iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(compiled, "TEMPLATES", tmp_path)
    compiled.load_template.cache_clear()
    before = compiled.load_template("notice")
    compiled.load_template.cache_clear()  # sources reread: unchanged, so no recompile
    assert compiled.load_template("notice") is before
    source = tmp_path / "notice.mjml"
    source.write_text(source.read_text().replace("{{heading}}", "Changed {{heading}}"))
    compiled.load_template.cache_clear()
    after = compiled.load_template("notice")
    compiled.load_template.cache_clear()  # leave the real templates for other tests
    assert after is not before
    values = dict.fromkeys(
        ["subject", "preheader", "heading", "body", "action_label", "action_hint"], "h"
    )
    values |= {"action_url": "https://x.example/", "footer_reason": "f", "postal_address": "a"}
    assert "Changed h" in after.render(values) and "Changed h" not in before.render(values)


@pytest.mark.parametrize(
    ("n", "shown"),
    [(None, ""), (0, ""), (999, "999"), (1000, "1k"), (1234, "1.2k"), (999_999, "1M")],
)
def test_compact_counts_read_like_github(n: int | None, shown: str) -> None:
    assert compact(n) == shown


@pytest.mark.parametrize("worst", [False, True])
def test_plain_text_prose_wraps_at_78_columns_and_keeps_links_whole(worst: bool) -> None:
    email = build_digest(sample_digest(10, worst=worst))
    texts = [email.text] + [notice(k).text for k in ("confirm", "welcome", "link")]
    for text in texts:
        for line in text.splitlines():
            if len(line) > 78:  # only an unbreakable word (a link, a long token) may overflow
                assert " " not in line.strip().split(": ", 1)[-1], line
    for href, _ in Links(email.html).links:
        assert href.startswith("#") or href in email.text


def test_a_name_a_card_does_not_have_fails_the_render() -> None:
    """Templates look attributes up with the builtin getattr: a typo still fails loudly."""
    card = sample_digest(1).papers[0]
    assert compiled.html_environment().from_string("{{p.title}}").render(p=card)
    with pytest.raises(AttributeError):
        compiled.html_environment().from_string("{{p.titel}}").render(p=card)


@pytest.mark.parametrize("abs_url", ["https://arxiv.org/abs/1", "javascript:alert(1)", None])
@pytest.mark.parametrize("worst", [False, True])
def test_for_reader_is_the_face_replaced_field_by_field(abs_url: str | None, worst: bool) -> None:
    """`for_reader` builds the card by position for speed; it must stay exactly
    `dataclasses.replace` of the face with the reader's fields, whatever fields cards gain;
    the sender's `stored_for_reader` reads as that card."""
    for p in sample_papers(4, worst=worst):
        face = paper_face(
            title=p["title"],
            abstract=p["abstract"],
            authors=p["authors"],
            key=p["paper_id"] if abs_url else "",
            github_repo=p.get("github_repo"),
            github_stars=p.get("github_stars"),
        )
        card = for_reader(face, reasons=p["reasons"], more_url="m", less_url="l", abs_url=abs_url)
        url = abs_url if abs_url and abs_url.startswith("https:") else None
        stored = json.dumps([r.to_json() for r in p["reasons"]])
        sent = stored_for_reader(face, stored=stored, more_url="m", less_url="l", url=url)
        assert sent.whole() == card  # the sender's card reads as the same card
        assert all(getattr(sent, f.name) == getattr(card, f.name) for f in fields(card))
        assert card == replace(
            face,
            url=url,
            why=clip(why_line(p["reasons"]), WHY_LIMIT),
            more_url="m",
            less_url="l",
            topics=term_reasons(p["reasons"]),
            ref=face.ref or ("Abstract" if url else ""),
            ref_url=face.ref_url or url,
        )


def test_reader_lines_are_remembered_by_the_stored_text() -> None:
    """A set of reasons is parsed once, then known by its text; other text, other lines."""
    reasons = [P("graph neural"), P("neural networks"), POPULAR]
    stored = json.dumps([r.to_json() for r in reasons])
    lines = reader_lines(stored)
    assert lines == (("graph neural networks",), clip(why_line(reasons), WHY_LIMIT))
    assert reader_lines(stored) is lines
    assert reader_lines(stored.replace("graph neural", "graph")) == (
        ("graph", "neural networks"),
        "matches “graph”, “neural networks”; popular today",
    )
