"""A digest rendered from fragments: once per paper (each card) and per shape (the page),
filled per reader.

Thousands of readers of an edition get the same few hundred papers; what differs in a card
from one reader to the next is a handful of values (the reader's signed links, the why-line,
the number in the list), and the page around the cards differs by the reader's own lines
(subject, links, footer). The digest templates mark each card as a Jinja block (`pick` for
the picks, `trend` for the trending papers, `toc` for a line of the contents; the text
part's why-line is a block of its own, `why`). `Filler.render` keeps the template rendered
with stand-ins ("slots") for all of these: a card once per paper and shape (a card with a
`face`, the sender's, is known by that one object per paper version, not by its fields), the
page once per shape (how many cards, which lines are set); both are cut at the slots and
filled per email with the reader's values, escaped as the template escapes them. The bytes
are the plain render's: each new fragment is checked against Jinja's own render of it, and
the tests hold the two to it. Each fragment's text is also kept escaped as a JSON string, so
a JSON API payload (SendGrid's) is assembled rather than escaped anew (`Filler.render`'s
second value).

What the templates may do with a reader's value, so that a fragment is the same for all:
- a card block reads `p`'s fields, whichever it likes, but the reader's (`CARD_SLOTS`) only
  printed whole or tested for truth; `loop.index` only printed (a stand-in of as many
  characters: the wrap of "10. Title" is the wrap of "xx. Title"); `archive_url`, printed or
  tested, and `full`;
- the page prints its string values whole or tests them; a value it transforms per reader
  (the text part wraps the footer and the note) is in a block of its own (`EMAIL_BLOCKS`),
  rendered by Jinja for each email from the email's values (not the template's globals).
Anything else (another variable in a card, `p.topics`, arithmetic on the index, a paper's
text holding a stand-in's mark) fails a fragment's check, and from then on the process
renders by plain Jinja, with a warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from json.encoder import encode_basestring_ascii
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

import jinja2
from markupsafe import escape

log = logging.getLogger(__name__)

CARD_BLOCKS = {"pick": "papers", "trend": "trending", "toc": "papers"}  # block: its list
EMAIL_BLOCKS = ("note", "footer")  # rendered for each email (wrapped per reader)
WHY_BLOCK = "why"  # in a text card: the why-line wrapped, kept once per why-line
CARD_SLOTS = ("url", "why", "more_url", "less_url", "ref_url")
UNREAD = ("topics",)  # a reader's field no card shows (the subject names them)
MARK, END, DIGIT = "\x00", "\x02", "\x01"  # a slot: MARK name END; an index: DIGIT a digit
SLOT = re.compile(f"{MARK}(\\w+){END}|({DIGIT}+)")
JSON_MARK = "\\u0000"  # MARK in a JSON string
INDEX = "#"  # the slot of a card's position
CARD_ROW = (*CARD_SLOTS, "archive_url", INDEX, "_" + WHY_BLOCK)  # a card's slots' values
json_string = encode_basestring_ascii  # json.dumps's (ensure_ascii) escape of one string
KEPT = 8192  # card fragments per template; then the cache starts afresh
WHYS_KEPT = 16384


@dataclass(frozen=True, slots=True)
class Fragment:
    """A render cut at its slots: `texts` around them (one more than the slots), the same
    escaped for a JSON string, and the slots' names in order (a value's name, INDEX, or "_"
    and a block's name)."""

    texts: tuple[str, ...]
    texts_json: tuple[str, ...]
    codes: tuple[str, ...]


class _Cut(NamedTuple):
    """A card's fragment, how its slots' values are picked from the card's row (`CARD_ROW`),
    and whether the row needs the why block's text."""

    fragment: Fragment
    pick: Callable[[tuple], tuple]
    why: bool


def _picker(codes: tuple[str, ...]) -> Callable[[tuple], tuple]:
    at = [CARD_ROW.index(code) for code in codes]
    if len(at) > 1:
        return itemgetter(*at)
    return (lambda row: (row[at[0]],)) if at else (lambda row: ())


class FragmentError(RuntimeError):
    """A fragment that does not fill to the plain render (see above)."""


class _Unread:
    """A value no fragment may show: any use of it fails the fragment's render."""

    def _refuse(self, *_: object) -> Any:
        raise TypeError("a digest template read a value a fragment cannot keep")

    __bool__ = __iter__ = __len__ = __str__ = __html__ = _refuse  # type: ignore[assignment]


class _Loop:
    """The card loop as a card block may read it: its index."""

    __slots__ = ("index",)

    def __init__(self, index: object):
        self.index = index


class _Why:
    """The card as the `why` block may read it: the why-line."""

    __slots__ = ("why",)

    def __init__(self, why: str):
        self.why = why


def _slot(name: str) -> str:
    return MARK + name + END


def _block(name: str) -> Callable[[Any], Iterator[str]]:
    """A block that renders as its slot."""
    return lambda _: iter((_slot("_" + name),))


def _fragment(text: str) -> Fragment:
    parts = SLOT.split(text)  # text, name or None, digits or None, text, ...
    texts = tuple(parts[::3])
    codes = tuple(INDEX if name is None else name for name in parts[1::3])
    return Fragment(texts, tuple(json_string(t)[1:-1] for t in texts), codes)


def _page_key(values: dict) -> tuple:
    """What a page's fragment depends on: which values it has, which strings are set (or
    the falsy value they are), how many cards each list holds, the other values."""
    shape = [
        (v and True) if type(v) is str else len(v) if type(v) is list else v
        for v in values.values()
    ]
    return tuple(values), tuple(shape)


class _Email:
    """An email being filled: its texts and its slots' values in order, as one sequence
    (text, value, text, ..., text); a card's fragment is spliced in at its page slot, an
    empty value on either side."""

    __slots__ = ("texts", "texts_json", "values")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.texts_json: list[str] = []
        self.values: list[str] = []

    def splice(self, fragment: Fragment, values: Iterable[str]) -> None:
        if self.texts:
            self.values.append("")
        self.texts += fragment.texts
        self.texts_json += fragment.texts_json
        self.values += values

    def joined(self, html: bool) -> tuple[str, str]:
        """The email, and as a JSON string: one escape of all its values for each."""
        values = self.values
        joined = MARK.join(values)
        printed = (joined := str(escape(joined))).split(MARK) if html else values
        printed_json = json_string(joined).split(JSON_MARK)
        if len(printed) != len(values) or len(printed_json) != len(values):
            raise FragmentError("a value holds a stand-in's mark")  # and split into more
        printed_json[0] = printed_json[0][1:]  # json_string's quotes, off the small ends
        printed_json[-1] = printed_json[-1][:-1]
        parts: list = [None] * (2 * len(values) + 1)
        parts[::2], parts[1::2] = self.texts, printed
        text = "".join(parts)
        parts[::2], parts[1::2] = self.texts_json, printed_json
        parts[0] = '"' + parts[0]
        parts[-1] += '"'
        return text, "".join(parts)


class Filler:
    """One template's fragments. `html`: the template escapes what it prints (autoescape),
    as markupsafe does; else it prints values as they are (the text part). `card`: the
    cards' type (a dataclass); a card may also stand for one by its `face` (a `card` whose
    fields are the card's but the slots, the unread ones and `ref`: `render.ReaderCard`)."""

    def __init__(self, template: jinja2.Template, html: bool, card: type):
        self.template = template
        self.html = html
        names = [f.name for f in fields(card)]
        self.face_of = attrgetter(*(n for n in names if n not in CARD_SLOTS + UNREAD))
        self.values_of = attrgetter(*names)
        self.slots = [(names.index(n), _slot(n)) for n in CARD_SLOTS]
        self.unread = [names.index(n) for n in UNREAD]
        self.card = card
        self.pages: dict[tuple, Fragment] = {}
        self.cards: dict[tuple, _Cut] = {}
        self.faces: dict[int, Any] = {}  # the faces whose id keys a kept fragment, kept alive
        self.whys: dict[str, str] = {}
        self.failed = False

    def render(self, values: dict) -> tuple[str, str | None]:
        """`template.render(values)`, and the same as a JSON string (None when rendered by
        plain Jinja)."""
        if not self.failed:
            try:
                return self._render(values)
            except Exception:
                self.failed = True  # a template this module cannot cut: plain Jinja from now
                log.warning("digest: rendering without fragments", exc_info=True)
        return self.template.render(values), None

    def _render(self, values: dict) -> tuple[str, str]:
        email = _Email()
        self._fill_page(email, values)
        return email.joined(self.html)

    def _fill_page(self, email: _Email, values: dict) -> None:
        key = _page_key(values)
        page = self.pages.get(key) or self._page(key, values)
        archive, full = values.get("archive_url"), values.get("full")
        cards = {"_" + name: enumerate(values.get(of, ()), 1) for name, of in CARD_BLOCKS.items()}
        texts, texts_json = page.texts, page.texts_json
        text, text_json, value = email.texts.append, email.texts_json.append, email.values.append
        text(texts[0])
        text_json(texts_json[0])
        for k, code in enumerate(page.codes, 1):
            listed = cards.get(code)
            if listed is not None:
                i, p = next(listed)
                self._fill_card(email, code[1:], p, i, archive, full)
                value("")
            elif code[0] != "_":
                value(values[code])
            elif self.html:  # a block's output is printed as it is, never escaped
                raise FragmentError(f"an HTML template's {code[1:]} block would be escaped")
            else:  # from the email's values alone (`shared`: without the template's globals)
                ctx = self.template.new_context(values, shared=True)
                value("".join(self.template.blocks[code[1:]](ctx)))
            text(texts[k])
            text_json(texts_json[k])

    def _page(self, key: tuple, values: dict) -> Fragment:
        """The page with every string value and block as its slot, cut; checked against the
        plain render of this email."""
        stand_ins = {
            name: (
                _slot(name)
                if type(v) is str and v
                else [_Unread()] * len(v)
                if type(v) is list
                else v
            )
            for name, v in values.items()
        }
        ctx = self.template.new_context(stand_ins)
        for name in (*CARD_BLOCKS, *EMAIL_BLOCKS):
            if name in ctx.blocks:
                ctx.blocks[name] = [_block(name)]
        page = self.pages[key] = _fragment("".join(self.template.root_render_func(ctx)))
        if self._render(values)[0] != self.template.render(values):
            raise FragmentError("the page's fragment differs from its render")
        return page

    def _fill_card(
        self, email: _Email, name: str, p: Any, index: int, archive: Any, full: Any
    ) -> None:
        digits = str(index)
        url, why, more_url, less_url, ref_url = p.url, p.why, p.more_url, p.less_url, p.ref_url
        # The paper's part: a card's `face` (one object, the same in every reader's card) by
        # its id, with the one field a reader sets beside the slots, else all the card's
        # fields; a slot's value only as "set" (True) or the falsy value it is
        face = getattr(p, "face", None)
        key = (
            name,
            self.face_of(p) if face is None else id(face),
            p.ref,
            url and True,
            why and True,
            more_url and True,
            less_url and True,
            ref_url and True,
            len(digits),
            archive and True,
            full,
        )
        cut = self.cards.get(key)
        if cut is None:
            cut = self._card_cut(name, p, digits, archive, full)
            if len(self.cards) >= KEPT:
                self.cards.clear()
                self.faces.clear()
            self.cards[key] = cut
            if face is not None:  # an id names it only while it lives
                self.faces[id(face)] = face
        row = (url, why, more_url, less_url, ref_url, archive, digits)
        email.splice(cut.fragment, cut.pick((*row, self._why(why)) if cut.why else row))

    def _card_cut(self, name: str, p: Any, digits: str, archive: Any, full: Any) -> _Cut:
        """The block rendered with stand-ins, cut; checked against the block's own render for
        this card."""
        values = list(self.values_of(p))
        for i, stand_in in self.slots:
            if values[i]:
                values[i] = stand_in
        for i in self.unread:
            values[i] = _Unread()
        ctx = self.template.new_context(
            {
                "p": self.card(*values),
                "loop": _Loop(DIGIT * len(digits)),
                "archive_url": _slot("archive_url") if archive else archive,
                "full": full,
            }
        )
        if WHY_BLOCK in ctx.blocks:
            ctx.blocks[WHY_BLOCK] = [_block(WHY_BLOCK)]
        fragment = _fragment("".join(self.template.blocks[name](ctx)))
        cut = _Cut(fragment, _picker(fragment.codes), CARD_ROW[-1] in fragment.codes)
        email = _Email()
        row = (p.url, p.why, p.more_url, p.less_url, p.ref_url, archive, digits)
        email.splice(fragment, cut.pick((*row, self._why(p.why)) if cut.why else row))
        plain = self.template.new_context(
            {"p": p, "loop": _Loop(int(digits)), "archive_url": archive, "full": full}
        )
        if email.joined(self.html)[0] != "".join(self.template.blocks[name](plain)):
            raise FragmentError(f"the {name} block's fragment differs from its render")
        return cut

    def _why(self, why: str) -> str:
        text = self.whys.get(why)
        if text is None:
            ctx = self.template.new_context({"p": _Why(why)})
            text = "".join(self.template.blocks[WHY_BLOCK](ctx))
            if len(self.whys) >= WHYS_KEPT:
                self.whys.clear()
            self.whys[why] = text
        return text
