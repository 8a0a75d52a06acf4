"""A select box over coded answers shown in words, with nothing chosen until the user picks one.

Pages pass ``coded_choice(words, placeholder)`` to ``st.selectbox`` beside the label and key, so the
widget stores the code (e.g. "goals_met") and shows the words ("Goals met").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def coded_choice(words: Mapping[str, str], placeholder: str) -> dict[str, Any]:
    """Keyword arguments for ``st.selectbox`` (all but label and key): the codes as options, each shown
    by its words, none chosen yet and the placeholder saying what to choose."""
    return {
        "options": list(words),
        "index": None,
        "format_func": words.__getitem__,
        "placeholder": placeholder,
    }
