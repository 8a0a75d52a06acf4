"""User-controlled text made safe for the two places it can do harm: Markdown and spreadsheets.

Every name, reference, reason or note that reaches a Markdown-rendering Streamlit call goes through
`md_escape`; every text cell of a CSV Stride writes goes through `csv_cell`, and the importer undoes
it with `csv_uncell`, so a round trip is lossless.
"""

from __future__ import annotations

import html
import re

# Every ASCII punctuation character CommonMark lets a backslash escape, plus the ones Streamlit's
# Markdown gives a meaning of its own: `$` (LaTeX), `:` (emoji shortcodes, :color[...] directives).
_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|<>~=$:&\"'^%@/;,?")
# U+2060 WORD JOINER, invisible. Some Markdown rules work on the text *after* parsing, when the
# backslash escapes are gone: GFM turns `http://…`, `www.…` and `name@host.org` into links, and
# Streamlit swaps `:streamlit:` for its logo and shortcodes for emoji. A joiner after each colon
# and at-sign, and inside `www.`, breaks those patterns where an escape alone does not.
_JOINER = "\u2060"
_JOIN_AFTER = frozenset(":@")
# Control characters (C0, DEL, C1) mean nothing on a page; tabs and line breaks become spaces first.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s+")

# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def md_escape(text: object) -> str:
    """Plain text for st.markdown and friends: every Markdown/HTML character shown literally, one line."""
    # A line break would start a new Markdown block (heading, quote, list, code): one line only,
    # with single spaces, so leading spaces cannot make an indented code block either.
    line = _CONTROL.sub("", _WHITESPACE.sub(" ", str(text))).strip()
    out = []
    for index, char in enumerate(line):
        if char == "." and line[max(0, index - 3) : index].lower() == "www":
            out.append(_JOINER)
        if char in _MD_SPECIAL:
            out.append("\\" + char + (_JOINER if char in _JOIN_AFTER else ""))
        else:
            out.append(char)
    return "".join(out)


def csv_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: a leading formula character gets an apostrophe.

    A value that already starts with an apostrophe gets one more, so `csv_uncell` can undo it exactly.
    """
    if value.startswith(_FORMULA_START) or value.startswith("'"):
        return "'" + value
    return value


def csv_uncell(value: str) -> str:
    """The original text of a cell written by `csv_cell`."""
    return value[1:] if value.startswith("'") else value


def hover_text(text: str, limit: int = 160) -> str:
    """User text for a plotly hover label: one line, at most `limit` characters (… when cut), with
    <, > and & as entities so plotly's HTML-like labels never read a tag (a link, a break) from it."""
    line = _WHITESPACE.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return html.escape(line, quote=False)
