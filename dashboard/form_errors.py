"""A refused use case's messages, placed where a page form shows them.

Services raise :class:`~dashboard.ports.InvalidInputError` (one message per field) or another
:class:`~dashboard.ports.StrideError` (one message). A page shows each message under its field, or
under the form when the form has no place for that field; these functions only sort the messages,
so the pages keep nothing but the widgets.
"""

from __future__ import annotations

from collections.abc import Collection

from dashboard.ports import InvalidInputError, StrideError

GENERAL = "_"  # the key of a message that belongs to the whole form, not one field


def error_messages(exc: StrideError) -> list[str]:
    """Every message of a refusal, in the service's order (one per field, or the one message)."""
    if isinstance(exc, InvalidInputError):
        return list(exc.errors.values())
    return [str(exc)]


def errors_by_field(exc: StrideError, fields: Collection[str] | None = None) -> dict[str, str]:
    """Field name → message; with `fields`, a message for a field not among them goes under GENERAL.

    Without `fields` every field keeps its own name (the form looks up the ones it shows). When two
    messages land under GENERAL the later one is kept, as one slot under a form shows one message.
    """
    if not isinstance(exc, InvalidInputError):
        return {GENERAL: str(exc)}
    if fields is None:
        return dict(exc.errors)
    return {(name if name in fields else GENERAL): message for name, message in exc.errors.items()}
