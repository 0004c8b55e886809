"""Compile once: MJML -> HTML -> CSS inlined (premailer, no network) -> Jinja template.

MJML and premailer are slow (tens of ms); per email only the Jinja fill runs.
A process reads each template's source once, on first use, and compiles it under the
hash of that source: `load_template.cache_clear()` rereads the files, and only a source
that really changed is compiled again.
Placeholders are written without inner spaces (`{{p.url}}`) so premailer keeps
them intact inside attributes.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).parent / "templates"

# cssutils reports every MSO-only property as a warning; they are intentional.
logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)


class TemplateError(RuntimeError):
    """An MJML template that does not compile; a bug in our templates, never user input."""


def html_environment() -> jinja2.Environment:
    """Autoescaping: every value filled into the HTML is escaped; StrictUndefined: typos fail."""
    return attributes_only(
        jinja2.Environment(
            autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
        )
    )


def attributes_only(env: jinja2.Environment) -> jinja2.Environment:
    """`x.name` in our templates is always an attribute (a PaperCard's, a loop's), so it is
    looked up by the builtin `getattr`, not Jinja's, which is a Python call with an item
    fallback (~600 a digest); a name that is not there still fails the render."""
    env.getattr = getattr  # type: ignore[method-assign]
    return env


def mjml_to_inlined_html(source: str) -> str:
    """The slow path: MJML compile plus CSS inlining. Called once per template source."""
    from mjml import mjml_to_html  # slow imports: only a compile needs them
    from premailer import Premailer

    result = mjml_to_html(source)
    if result.errors:
        raise TemplateError(f"MJML errors: {result.errors}")
    return Premailer(
        result.html,
        allow_network=False,
        preserve_handlebar_syntax=True,
        keep_style_tags=True,  # media queries and dark-mode rules must survive
        remove_classes=False,
        disable_validation=True,
        strip_important=False,  # dark-mode overrides must beat the inlined colours
        cssutils_logging_level=logging.CRITICAL,
    ).transform()


@lru_cache(maxsize=32)
def _compiled(source_hash: str, source: str) -> jinja2.Template:
    return html_environment().from_string(mjml_to_inlined_html(source))


@lru_cache(maxsize=32)
def load_template(name: str) -> jinja2.Template:
    """The compiled Jinja template for `templates/<name>.mjml` (plus shared partials)."""
    source = render_partials((TEMPLATES / f"{name}.mjml").read_text(encoding="utf-8"))
    return _compiled(hashlib.sha256(source.encode()).hexdigest(), source)


def render_partials(source: str) -> str:
    """Expand `<mj-include path="x.mjml"/>`-style shared parts before MJML sees them."""
    for part in sorted(TEMPLATES.glob("_*.mjml")):
        source = source.replace(f"<!-- include {part.name} -->", part.read_text(encoding="utf-8"))
    return source


@lru_cache(maxsize=32)
def text_template(name: str) -> jinja2.Template:
    """Plain-text alternative: a Jinja template without autoescaping (it is not HTML)."""
    env = attributes_only(
        jinja2.Environment(
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    )
    env.filters["wordwrap"] = wordwrap
    return env.from_string((TEMPLATES / f"{name}.txt").read_text(encoding="utf-8"))


@jinja2.pass_environment
def wordwrap(
    env: jinja2.Environment,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """Jinja's `wordwrap`, remembered: a paper's title, authors and teaser are wrapped alike in
    every reader's text part, and textwrap costs more than the rest of the fill."""
    return _wrapped(str(s), width, break_long_words, wrapstring, break_on_hyphens, env)


@lru_cache(maxsize=16384)
def _wrapped(
    s: str,
    width: int,
    break_long_words: bool,
    wrapstring: str | None,
    break_on_hyphens: bool,
    env: jinja2.Environment,
) -> str:
    return jinja2.filters.do_wordwrap(env, s, width, break_long_words, wrapstring, break_on_hyphens)
