"""Column types of the store: instants as UTC text, JSON as canonical text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Dialect
from sqlalchemy.dialects import postgresql, sqlite

from headwater.store.tables import JsonText, UtcDateTime

DIALECTS: list[Dialect] = [sqlite.dialect(), postgresql.dialect()]  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_instants_are_stored_as_fixed_width_utc_text(dialect: Dialect) -> None:
    kind = UtcDateTime()
    paris = timezone(timedelta(hours=1))

    stored = kind.process_bind_param(datetime(2026, 3, 1, 13, 0, tzinfo=paris), dialect)

    assert stored == "2026-03-01T12:00:00.000000+00:00"
    loaded = kind.process_result_value(stored, dialect)
    assert loaded == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert loaded is not None and loaded.utcoffset() == timedelta(0)


def test_stored_instants_sort_as_text_in_time_order() -> None:
    kind = UtcDateTime()
    instants = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=n * 999_999)
                for n in (5, 0, 3, 1_000_000)]

    texts = [str(kind.process_bind_param(i, sqlite.dialect())) for i in instants]

    assert sorted(texts) == [str(kind.process_bind_param(i, sqlite.dialect()))
                             for i in sorted(instants)]


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime 2026-03-01T12:00:00"):
        UtcDateTime().process_bind_param(datetime(2026, 3, 1, 12), sqlite.dialect())


def test_json_is_stored_canonically() -> None:
    kind = JsonText()

    stored = kind.process_bind_param({"b": [1, "é"], "a": None}, sqlite.dialect())

    assert stored == '{"a":null,"b":[1,"é"]}'
    assert kind.process_result_value(stored, sqlite.dialect()) == {"a": None, "b": [1, "é"]}
