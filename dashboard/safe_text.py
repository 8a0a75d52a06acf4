"""User-controlled text made safe for the two places it can do harm: Markdown and spreadsheets.

Every name, reference, reason or note that reaches a Markdown-rendering Streamlit call goes through
`md_escape`; every text cell of a CSV Stride writes goes through `csv_cell`, and the importer undoes
it with `csv_uncell`, so a round trip is lossless.
"""

from __future__ import annotations

# Every ASCII punctuation character CommonMark lets a backslash escape, plus the ones Streamlit's
# Markdown gives a meaning of its own: `$` (LaTeX), `:` (emoji shortcodes, :color[...] directives).
_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|<>~=$:&\"'^%@/;,?")

# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def md_escape(text: str) -> str:
    """Plain text for st.markdown and friends: every Markdown/HTML character shown literally, one line."""
    out = []
    for char in " ".join(str(text).splitlines()):
        out.append("\\" + char if char in _MD_SPECIAL else char)
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
