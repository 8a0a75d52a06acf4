"""A file a page offers for download: its label, type and help text, described once.

Pages pass ``spec.button(key, file_name)`` to ``st.download_button`` together with the data (a
callable, so an audited export runs only when the user clicks). A download skips the rerun a click
would otherwise cause (``on_click="ignore"``), so the page stays as it was, typed values too; only a
download whose click changes what the page lists (a handout just given) asks for the rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

CSV: Final = "text/csv"
PDF: Final = "application/pdf"
ZIP: Final = "application/zip"
JSON: Final = "application/json"
FHIR_JSON: Final = "application/fhir+json"
HTML: Final = "text/html"


@dataclass(frozen=True)
class Download:
    """What the button says and what the browser is told about the file."""

    label: str
    mime: str
    icon: str = "⬇️"
    help: str | None = None
    primary: bool = False
    rerun: bool = False  # the click changes what the page shows (the handout just given is listed)

    def button(self, key: str, file_name: str) -> dict[str, Any]:
        """Keyword arguments for ``st.download_button`` (all but ``data``)."""
        return {
            "label": self.label,
            "file_name": file_name,
            "mime": self.mime,
            "key": key,
            "on_click": "rerun" if self.rerun else "ignore",
            "icon": self.icon,
            "help": self.help,
            "type": "primary" if self.primary else "secondary",
        }
