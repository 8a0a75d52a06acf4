"""Stored JSON payloads are decoded by orjson (data.store.engine.decode_json): every row must read back
exactly as the standard library would decode it, on SQLite and PostgreSQL: also what orjson refuses (NaN,
lone surrogates) and what it reads otherwise (an integer past 64 bits, which it makes a float)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import JSON, Text, cast, select

from data import tables as t
from data.demo import generate
from data.store.engine import decode_json


def test_every_stored_payload_reads_back_exactly_as_the_standard_library_decodes_it(store: Any) -> None:
    generate(store, patients=8, seed=11, visits_per_patient=5)
    compared = 0
    with store.read() as tx:
        for table in t.metadata.sorted_tables:
            for column in (c for c in table.columns if isinstance(c.type, JSON)):
                stmt = select(column, cast(column, Text)).where(column.is_not(None))
                for decoded, text in tx.conn.execute(stmt):
                    # repr: 1 and 1.0 compare equal, but a visit's score must stay the type it was.
                    assert repr(decoded) == repr(json.loads(text)), (table.name, column.name)
                    compared += 1
    assert compared > 50  # visits, patients, episodes, screenings, escalations, the audit trail


@pytest.mark.parametrize(
    "text",
    [
        '{"temperature_c": NaN}',
        '{"x": Infinity, "y": -Infinity}',
        '{"big": 1180591620717411303424}',
        '{"note": "\\ud800"}',
        '{"small": -9223372036854775809, "u64": 18446744073709551616}',
        '{"huge": 1e400, "tiny": -1e-400}',
        '{"k": 1, "k": 2}',
        '{"n": 1.0, "m": 1, "z": -0, "w": -0.0, "s": "Łódź — straße", "e": 1e-7}',
        '{"digits in text": "tel 0123456789012345678901"}',
        "[1, 2",
    ],
    ids=[
        "nan",
        "infinity",
        "integer past 64 bits",
        "lone surrogate",
        "past 64 bits, signed and unsigned",
        "floats past their range",
        "a repeated key",
        "ordinary",
        "a long digit run in a string",
        "not json",
    ],
)
def test_a_payload_orjson_reads_otherwise_decodes_as_the_standard_library_would(text: str) -> None:
    try:
        expected = repr(json.loads(text))
    except ValueError as exc:
        expected = type(exc).__name__
    for given in (text, text.encode()):
        try:
            got = repr(decode_json(given))
        except ValueError as exc:
            got = type(exc).__name__
        assert got == expected
