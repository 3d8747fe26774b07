"""Java time-zone ids: every id Java 17 knows is accepted with Java's offsets; others refused.

The `zones` part of tests/core/quartz/vectors.json lists every id `TimeZone.getAvailableIDs()`
returns, plus custom and misspelt ids, each with the offsets Java gives at four instants.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.core.cron import CronError, time_zone
from headwater.core.cron_zones import LEGACY_IDS

VECTORS = json.loads((Path(__file__).parent / "quartz" / "vectors.json").read_text())
INSTANTS = [datetime.fromisoformat(text) for text in VECTORS["zone_instants"]]
ZONES: list[dict[str, Any]] = VECTORS["zones"]


def offsets(timezone_id: str) -> list[int]:
    zone = time_zone(timezone_id)
    return [int(instant.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
            for instant in INSTANTS]


@pytest.mark.parametrize("zone", [pytest.param(z, id=z["id"]) for z in ZONES
                                  if z["known"] and not z["id"].startswith("SystemV/")])
def test_every_id_java_knows_has_java_s_offsets(zone: dict[str, Any]) -> None:
    assert offsets(zone["id"]) == zone["offsets"]


@pytest.mark.parametrize("zone", [pytest.param(z, id=z["id"]) for z in ZONES if not z["known"]])
def test_an_id_java_does_not_know_is_refused(zone: dict[str, Any]) -> None:
    # Quartz would quietly use GMT for these
    assert zone["java_id"] == "GMT"
    with pytest.raises(CronError, match="unknown time zone"):
        time_zone(zone["id"])


def test_java_s_obsolete_systemv_ids_are_refused_with_a_way_out() -> None:
    systemv = [z["id"] for z in ZONES if z["id"].startswith("SystemV/")]
    assert "SystemV/EST5EDT" in systemv

    for timezone_id in systemv:
        with pytest.raises(CronError, match=r"obsolete Java id .* 'America/New_York'"):
            time_zone(timezone_id)


def test_the_legacy_table_is_java_s() -> None:
    java = {z["id"] for z in ZONES if z["known"]}

    assert set(LEGACY_IDS) <= java
    assert {"EST", "MST", "HST"} <= java
    # a legacy id keeps Java's name for the zone it stands for
    assert str(time_zone("PST")) == "America/Los_Angeles"


@pytest.mark.parametrize(("timezone_id", "hint"), [
    ("Europe/Amsterdm", "did you mean 'Europe/Amsterdam'?"),
    ("europe/amsterdam", "did you mean 'Europe/Amsterdam'?"),
    ("utc", "did you mean 'UTC'?"),
    ("America/NewYork", "did you mean 'America/New_York'?"),
    ("Amsterdam/Europe", "did you mean 'Europe/Amsterdam'?"),
    ("", "use a Java time-zone id"),
    ("UTC+5", "use a Java time-zone id, such as 'Europe/Amsterdam', 'America/New_York', 'UTC' "
              "or 'GMT+05:30'"),
    ("GMT+24", "hours up to 23"),
    ("../../etc/passwd", "unknown time zone"),
    ("localtime", "unknown time zone 'localtime'; use"),
])
def test_unknown_ids_say_what_to_write(timezone_id: str, hint: str) -> None:
    with pytest.raises(CronError) as raised:
        time_zone(timezone_id)

    assert f"unknown time zone {timezone_id!r}" in raised.value.message
    assert hint in raised.value.message


@pytest.mark.parametrize(("timezone_id", "hours"), [
    ("GMT+5", 5), ("GMT+0530", 5.5), ("GMT+5:30", 5.5), ("GMT-08:00", -8), ("GMT-0", 0),
    ("EST", -5), ("Etc/GMT+5", -5),
])
def test_fixed_offsets(timezone_id: str, hours: float) -> None:
    zone = time_zone(timezone_id)

    assert datetime(2026, 7, 1, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(hours=hours)
