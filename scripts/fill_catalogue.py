"""Fill a handout catalogue from a translator's list: one translation a line, in the catalogue's
message order (`python scripts/fill_catalogue.py LANG FILE "Drafted by ..."`). A helper for drafting;
the catalogue (reports/locale/LANG/LC_MESSAGES/handout.po) is what ships.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reports.i18n import Catalogue, all_messages, catalogue_path, load_library_files, write_po


def main(language: str, source: str, drafted_by: str) -> None:
    """Write the catalogue of `language` from the lines of `source`."""
    messages = all_messages(load_library_files())
    lines = [line for line in Path(source).read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(lines) != len(messages):
        raise SystemExit(f"{len(lines)} translations for {len(messages)} messages")
    header = {
        "Project-Id-Version": "Stride handout",
        "Language": language,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "X-Drafted-By": drafted_by,
        "X-Review-State": "awaiting clinical review (recorded on the admin page)",
    }
    write_po(
        catalogue_path(language),
        Catalogue(language, header, dict(zip(messages, lines, strict=True))),
        messages,
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
