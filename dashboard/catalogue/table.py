"""How a catalogue table is built and read: entries keyed by their id, one error for an unknown id."""

from __future__ import annotations

from typing import Protocol, TypeVar


class _Entry(Protocol):
    @property
    def id(self) -> str: ...


E = TypeVar("E", bound=_Entry)


def by_id(*entries: E) -> dict[str, E]:
    """A catalogue table: its entries keyed by id, in the order they are declared."""
    return {entry.id: entry for entry in entries}


def lookup(table: dict[str, E], entry_id: str, what: str) -> E:
    """The entry of `table` with this id; ValueError naming `what` and the known ids when unknown."""
    try:
        return table[entry_id]
    except KeyError:
        raise ValueError(f"{what}: unknown; expected one of {', '.join(table)}") from None
