"""The questions put to the real Quartz, and the assembly of its answers into `vectors.json`.

    python cases.py tsv       > cases.tsv    # id, expression, zone, after (epoch ms), count
    python cases.py zone-ids  > ids.txt      # time-zone ids to ask Java about beyond its own
    python cases.py instants                 # the instants (epoch ms) zone offsets are taken at
    python cases.py assemble results.jsonl zones.jsonl ABOUT > vectors.json

`regenerate.sh` runs these around `QuartzOracle.java`. Every case is built from code here, so
a case is changed by changing this file and regenerating, never by editing the vectors. The
random part is seeded: the same file gives the same cases.

Groups: `syntax` (every element of every field), `calendar` (month lengths, leap years, `L`,
`L-n`, `W`, `LW`, `L-nW`), `weekdays` (`n#k`, `nL`), `years` (expressions that end),
`dst` (both transitions in several zones, before 2038 and after, and the same expressions in
zones with half-hour offsets and no DST), `invalid` (what Quartz
refuses), `strict` (what Quartz reads only in part, and headwater refuses: marked
`"headwater": "refuses"`), `quirks` (where Quartz loops forever) and `random`.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

Case = dict[str, object]

TIME_FIELDS = {
    "seconds": ["*", "0", "30", "59", "0/15", "*/20", "/20", "5/15", "10-20", "50-10",
                "10-40/7", "0,15,45", "1,2,3-5", "58-2/2", "07"],
    "minutes": ["*", "0", "59", "*/7", "5/30", "45-15", "0-59/10", "1,31", "*,5"],
    "hours": ["*", "0", "23", "*/6", "9-17", "22-2", "0/5", "1,13", "20-4/3", "12-12"],
}
DAYS_OF_MONTH = ["1", "15", "31", "1,15", "10-20", "25-5", "1/5", "*/10", "L", "L-1", "L-3",
                 "L-15", "L-30", "LW", "L-3W", "L-0", "15W", "1W", "31W", "30W", "28W", "2W",
                 "lw", "l", "29", "30", "31-1", "5/31"]
MONTHS = ["JAN", "jan", "JAN-MAR", "NOV-FEB", "1/3", "*/2", "2,4,6", "12", "FEB", "3-3",
          "oct-dec", "2-11/3", "DEC,JAN"]
DAYS_OF_WEEK = ["MON", "mon", "MON-FRI", "1-7", "SAT,SUN", "FRI-MON", "6#3", "2#1", "2#5",
                "1#5", "6L", "FRIL", "L", "7L", "1/2", "*/3", "SUN", "1", "7", "3-5", "7-1",
                "fri#2", "thuL", "2-6/2", "*", "MON,WED,FRI", "TUE,wed", "SAT,1"]
YEARS = ["2027", "2026-2030", "2025/2", "*", "2027,2029", "2030-2032/2"]

DST_ZONES = {  # zone: years with the transitions to test
    "Europe/Amsterdam": (2024, 2041),
    "America/New_York": (2025, 2042),
    "Australia/Sydney": (2025, 2040),
    "Australia/Lord_Howe": (2024, 2026),
    "America/Santiago": (2024,),  # transitions at midnight
    "Europe/London": (2026,),
    "America/Sao_Paulo": (2018,),  # midnight transitions, before Brazil dropped them in 2019
    "Pacific/Chatham": (2025,),  # +12:45 / +13:45
    "America/St_Johns": (2025,),  # -03:30 / -02:30
}
STEADY_ZONES = {  # zones with odd offsets and no DST since 1970: 02:00 local on 30 March 2025
    "Asia/Kolkata": datetime(2025, 3, 29, 20, 30, tzinfo=UTC),  # +05:30
    "Asia/Kathmandu": datetime(2025, 3, 29, 20, 15, tzinfo=UTC),  # +05:45
}
DST_EXPRESSIONS = ["* * * * * ?", "0 * * * * ?", "0 */15 * * * ?", "0 30 * * * ?",
                   "0 0 * * * ?", "0 15,40 * * * ?", "0 0,45 {h},{h1} * * ?", "0 0 {h} * * ?",
                   "0 30 {h} * * ?", "0 0/20 {h} * * ?", "30 59 {h0} * * ?", "0 0 {h1} * * ?",
                   "0 30 {h} ? * SUN", "0 0 0 * * ?", "0 10 {h} L * ?", "0 5 {h0}-{h1} * * ?"]
OTHER_ZONES = ["UTC", "Asia/Kolkata", "Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin",
               "Australia/Adelaide", "Asia/Kathmandu", "Pacific/Auckland", "Africa/Casablanca",
               "America/Havana", "Asia/Tehran", "GMT+05:30", "EST", "PST", "IST"]

INVALID = [
    "", "0", "0 0 12 * *", "30 6 * * 1-5", "0 0 25 * * ?", "60 * * * * ?", "0 60 * * * ?",
    "0 0 12 32 * ?", "0 0 12 0 * ?", "0 0 12 ? 13 *", "0 0 12 ? 0 *", "0 0 12 ? * 8",
    "0 0 12 ? * 0", "0 0 12 * * *", "0 0 12 ? * ?", "0 0 12 1 * MON", "0 0 12 ? * 6#6",
    "0 0 12 ? * 6#0", "0 0 12 ? * 6#", "0 0 12 ? * #3", "0 0 12 L-31 * ?", "0 0 12 L- * ?",
    "0 0 12 32W * ?", "0 0 12 ? * 8L", "0 0 12 ? * 0L", "0 0 12 L,15 * ?", "0 0 12 LW,15 * ?",
    "0 0 12 ? * 6L,2", "0 0 12 ? * 6#3,5#2", "0 0 12 ? JAM *", "0 0 12 ? * MOM", "0 0 MON * * ?",
    "X 0 12 * * ?", "0 0 12 1-MAR * ?", "0 0 12 ? JAN-3 *", "0 0 12 ? 1-MAR *", "*/60 * * * * ?",
    "0 */60 * * * ?", "0 0 */24 * * ?", "0 0 12 */32 * ?", "0 0 12 ? */13 *", "0 0 12 ? * */8",
    "5/60 * * * * ?", "0 0 12 ? * 1/8", "/ * * * * ?", "*/ * * * * ?",
    "0 0 ? * * *", "? 0 12 * * ?", "0 0 12 L * 1", "0 0 12W * * ?",
    "0 0 12 ? 3W *", "0 0 12 ? * 3W", "0 0 12 15L * ?", "L 0 12 * * ?",
    "0 0 12 W * ?", "0 0 12 ? * 1-8", "0 0 5-25 * * ?", "0 70-5 * * * ?", "0 0 12 1-32 * ?",
    "0 0 12 ? 1-13 *", "0 0 12 * * ? 2030-2020", "0 0 12 ?x1 * *",
    "0 0 1-x * * ?", "0 0 1/x * * ?", "0 0 1- * * ?", "0 0 12\u00a0* * ?", "0 0 12 ? * MON#6",
    "0 0 12 LX * ?", "0 0 12 L3 * ?", "0 0 12 L-3X * ?", "0 0 12 5/40 * ?",
]
STRICT = [  # Quartz accepts these but reads them only in part or re-reads them; headwater refuses
    "0 0 12 ? JAN/2 *", "0 0 12 ? * MON-FRI/2", "*/0 * * * * ?", "5/0 * * * * ?",
    "0 0 1-5/0 * * ?", "0 0 12 ? * 6#3,2", "0 0 12 15W,20 * ?", "0 0 12 1,15W * ?",
    "0 0 12 ? * 8#1", "0 0 12 0W * ?", "0 0 12 ? * MONDAY", "0 0 12 1 JANUARY ?",
    "10-20X * * * * ?", "0 0 12 ?x * *", "*5 * * * * ?", "0 0 12 L-W * ?",
    "0 0 12 * * ? 2030 extra", "0 0 12 1,,15 * ?", "0 0 12 ,1 * ?", "0 0 12 * * ? 1800",
    "0 0 12 * * ? 2300", "0 0 12 5-0 * ?", "0 0 12 ? * 2-0", "0 0 12 ? * L/2",
    "0 0 12 ? * LW", "0 0 12 ? * 5L-2", "0 0 12 ? * 2-6#3", "0 0 12 1-15W * ?",
    "0 0 12 ?? * *", "0 0 12 ? * L-2W", "0 0 12 ? JANL *", "0 0 12 * * ? 20X0",
]


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _case(group: str, expression: str, zone: str, after: datetime, count: int,
          **extra: object) -> Case:
    return {"group": group, "expression": expression, "timezone": zone, "after": _iso(after),
            "count": count, **extra}


def _syntax() -> Iterator[Case]:
    mid_june = datetime(2025, 6, 15, 10, 20, 33, tzinfo=UTC)
    new_year = datetime(2025, 1, 1, tzinfo=UTC)
    for value in TIME_FIELDS["seconds"]:
        yield _case("syntax", f"{value} * * * * ?", "UTC", mid_june, 8)
    for value in TIME_FIELDS["minutes"]:
        yield _case("syntax", f"0 {value} * * * ?", "UTC", mid_june, 8)
    for value in TIME_FIELDS["hours"]:
        yield _case("syntax", f"0 0 {value} * * ?", "UTC", mid_june, 8)
    for value in DAYS_OF_MONTH:
        yield _case("syntax", f"0 0 12 {value} * ?", "UTC", new_year, 12)
    for value in MONTHS:
        yield _case("syntax", f"0 0 12 1 {value} ?", "UTC", new_year, 8)
    for value in DAYS_OF_WEEK:
        yield _case("syntax", f"0 0 12 ? * {value}", "UTC", new_year, 10)
    for value in YEARS:
        yield _case("syntax", f"0 0 12 1 1 ? {value}", "UTC", new_year, 6)
    yield _case("syntax", "0\t0  12\t* *  ?", "UTC", new_year, 3)
    yield _case("syntax", "  0 0 12 * * ?  ", "UTC", new_year, 3)


def _calendar() -> Iterator[Case]:
    december = datetime(2023, 12, 15, tzinfo=UTC)
    yield _case("calendar", "0 0 0 29 2 ?", "UTC", datetime(2023, 1, 1, tzinfo=UTC), 6)
    yield _case("calendar", "0 0 0 29 2 ?", "UTC", datetime(2096, 3, 1, tzinfo=UTC), 2)
    yield _case("calendar", "0 0 0 L 2 ?", "UTC", datetime(2023, 1, 1, tzinfo=UTC), 8)
    for day in ("L", "31", "30", "29", "L-1", "L-27", "L-28", "L-29", "L-30", "LW", "L-3W",
                "L-27W", "1W", "15W", "31W", "30W", "29W", "28W", "2W", "3W"):
        yield _case("calendar", f"0 0 12 {day} * ?", "UTC", december, 26)
    for start_day in range(12, 19):  # around a 15th that is a Saturday (2025-03-15) or Sunday
        for month in (3, 6):
            after = datetime(2025, month, start_day, 11, 59, 59, tzinfo=UTC)
            yield _case("calendar", "0 0 12 15W * ?", "UTC", after, 3)
    for start_day in (26, 27, 28, 29, 30, 31):  # LW in a month ending on a weekend
        yield _case("calendar", "0 0 12 LW * ?", "UTC",
                    datetime(2025, 8, start_day, 12, tzinfo=UTC), 3)
    for day in ("29W", "30W", "31W", "28W"):  # days February lacks, read leniently
        yield _case("calendar", f"0 0 12 {day} 2 ?", "UTC", datetime(2019, 1, 1, tzinfo=UTC), 4)
    for start in ("2025-05-30T12:00:00", "2025-11-01T00:00:00", "2026-01-30T12:00:00"):
        after = datetime.fromisoformat(start).replace(tzinfo=UTC)
        for day in ("1W", "31W", "L-1W"):
            yield _case("calendar", f"0 0 12 {day} * ?", "UTC", after, 4)


def _weekdays() -> Iterator[Case]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for day in range(1, 8):
        for nth in range(1, 6):
            yield _case("weekdays", f"0 0 9 ? * {day}#{nth}", "UTC", start, 6)
        yield _case("weekdays", f"0 0 9 ? * {day}L", "UTC", start, 6)
    for start_day in (1, 7, 8, 14, 15, 21, 22, 28, 29):
        after = datetime(2025, 10, start_day, 9, tzinfo=UTC)
        yield _case("weekdays", "0 0 9 ? * 4#2", "UTC", after, 3)
        yield _case("weekdays", "0 0 9 ? * 6L", "UTC", after, 3)


def _years() -> Iterator[Case]:
    yield _case("years", "0 0 0 1 1 ? 2027-2030", "UTC", datetime(2026, 6, 1, tzinfo=UTC), 10)
    yield _case("years", "0 0 12 * * ? 2026", "UTC", datetime(2026, 12, 29, tzinfo=UTC), 5)
    yield _case("years", "0 0 0 1 1 ? 2020", "UTC", datetime(2026, 1, 1, tzinfo=UTC), 3)
    yield _case("years", "0 0 0 29 2 ? 2027-2031", "UTC", datetime(2026, 1, 1, tzinfo=UTC), 3)
    yield _case("years", "0 0 0 30 2 ?", "UTC", datetime(2026, 1, 1, tzinfo=UTC), 3)
    yield _case("years", "0 0 0 ? 2 1#5 2026-2040", "UTC", datetime(2026, 1, 1, tzinfo=UTC), 3)
    yield _case("years", "59 59 23 31 12 ? 2099", "UTC", datetime(2099, 1, 1, tzinfo=UTC), 3)


def _transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    """The UTC instants in `year` at which `zone`'s offset changes (they are whole minutes)."""
    def offset(instant: datetime) -> timedelta | None:
        return instant.astimezone(zone).utcoffset()

    found, instant = [], datetime(year, 1, 1, tzinfo=UTC)
    while instant.year == year:
        hour_later = instant + timedelta(hours=1)
        if offset(instant) != offset(hour_later):
            minutes = (instant + timedelta(minutes=m) for m in range(1, 61))
            found.append(next(m for m in minutes if offset(m) != offset(instant)))
        instant = hour_later
    return found


def _dst() -> Iterator[Case]:
    for name, years in DST_ZONES.items():
        zone = ZoneInfo(name)
        for year in years:
            for moment in _transitions(zone, year):
                yield from _around(name, zone, moment)
    for name, local_two in STEADY_ZONES.items():  # the same expressions where no clock changes
        yield from _around(name, ZoneInfo(name), local_two)


def _around(name: str, zone: ZoneInfo, moment: datetime) -> Iterator[Case]:
    """The DST expressions near one transition, from starts before and (for an overlap) in it."""
    before = (moment - timedelta(seconds=1)).astimezone(zone)
    jump = moment.astimezone(zone).utcoffset() - before.utcoffset()
    hour = (before + timedelta(seconds=1)).replace(tzinfo=None).hour if jump.total_seconds() > 0 \
        else moment.astimezone(zone).hour
    hours = {"h": hour, "h0": (hour - 1) % 24, "h1": (hour + 1) % 24}
    starts = [moment - timedelta(hours=2, minutes=5)]
    if jump.total_seconds() < 0:  # in the repeated hour: its first and its second occurrence
        starts += [moment - timedelta(minutes=20), moment + timedelta(minutes=10)]
    for template in DST_EXPRESSIONS:
        expression = template.format(**hours)
        for start in starts if "{" in template else starts[:1]:
            count = 12 if expression.startswith("*") else 6
            begin = moment - timedelta(seconds=6) if expression.startswith("*") else start
            yield _case("dst", expression, name, begin, count)


def _invalid() -> Iterator[Case]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for expression in INVALID:
        yield _case("invalid", expression, "UTC", start, 3)
    for expression in STRICT:
        yield _case("strict", expression, "UTC", start, 3, headwater="refuses")


def _quirks() -> Iterator[Case]:
    """`L-nW` where a month has fewer than n days: Quartz loops forever from some starts."""
    yield _case("quirks", "0 0 12 L-30W * ?", "UTC", datetime(2025, 1, 28, tzinfo=UTC), 3)
    yield _case("quirks", "0 0 12 L-28W * ?", "UTC", datetime(2025, 1, 10, tzinfo=UTC), 3)
    yield _case("quirks", "0 0 12 L-28W * ?", "UTC", datetime(2025, 1, 31, 13, tzinfo=UTC), 3)
    yield _case("quirks", "0 0 12 L-28W 2 ?", "UTC", datetime(2019, 1, 1, tzinfo=UTC), 4)


def _random_field(rng: random.Random, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    """One field in a form Quartz reads in full: `*`, `a`, `a-b`, `a/n`, `*/n`, `a-b/n`, lists."""
    named = bool(names) and rng.random() < 0.3

    def pick() -> str:
        number = rng.randint(low, high)
        return names[number - low] if named else str(number)

    step = rng.randint(1, max(1, (high - low) // 2))
    forms = {
        "*": lambda: "*",
        "a": pick,
        "a-b": lambda: f"{pick()}-{pick()}",
        "a/n": lambda: f"{rng.randint(low, high)}/{step}",
        "*/n": lambda: f"*/{step}",
        "a-b/n": lambda: f"{rng.randint(low, high)}-{rng.randint(low, high)}/{step}",
        "list": lambda: ",".join(sorted({pick() for _ in range(rng.randint(2, 4))})),
    }
    return forms[rng.choice(sorted(forms))]()


def _random_days(rng: random.Random) -> tuple[str, str]:
    from_names = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
    if rng.random() < 0.5:
        special = rng.choice(["L", f"L-{rng.randint(0, 27)}", "LW", f"L-{rng.randint(0, 20)}W",
                              f"{rng.randint(1, 31)}W", None, None, None])
        return special or _random_field(rng, 1, 31), "?"
    special = rng.choice([f"{rng.randint(1, 7)}L", f"{rng.randint(1, 7)}#{rng.randint(1, 5)}",
                          "L", None, None, None])
    return "?", special or _random_field(rng, 1, 7, from_names)


def _random() -> Iterator[Case]:
    rng = random.Random(20261130)
    month_names = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                   "NOV", "DEC")
    zones = [*DST_ZONES, *OTHER_ZONES]
    for _ in range(300):
        day, weekday = _random_days(rng)
        fields = [_random_field(rng, 0, 59), _random_field(rng, 0, 59), _random_field(rng, 0, 23),
                  day, _random_field(rng, 1, 12, month_names), weekday]
        if rng.random() < 0.1:
            fields.append(f"{rng.randint(2020, 2030)}-{rng.randint(2030, 2040)}")
        start = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 37 * 365 * 86400))
        yield _case("random", " ".join(fields), rng.choice(zones), start, 5)


def cases() -> list[Case]:
    """Every case, numbered."""
    found = [*_syntax(), *_calendar(), *_weekdays(), *_years(), *_dst(), *_invalid(),
             *_quirks(), *_random()]
    return [{"id": f"{case['group']}-{index:04d}", **case} for index, case in enumerate(found)]


ZONE_IDS = ["GMT+5", "GMT+05", "GMT+0530", "GMT+5:30", "GMT+05:30", "GMT-8", "GMT-08:00",
            "GMT+24", "GMT+23:59", "GMT+530", "GMT+5:3", "GMT+1:60", "GMT-0", "GMT+00:00",
            "UTC+5", "utc", "Utc", "Z", "UT", "GMT0", "Etc/GMT+5", "europe/amsterdam",
            "Europe/Amsterdm", "posixrules", "localtime", "Factory", "posix/Europe/Amsterdam",
            "right/UTC", "US/Pacific", "EST", "PST", "IST", "CET", "EST5EDT", "Etc/UTC",
            "Europe/../Europe/Amsterdam", "/Europe/Amsterdam", "Europe/Amsterdam "]
INSTANTS = [datetime(2019, 1, 15, tzinfo=UTC), datetime(2019, 7, 15, tzinfo=UTC),
            datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 7, 15, tzinfo=UTC)]


def _assemble(results_path: str, zones_path: str, about: str) -> str:
    with open(results_path, encoding="utf-8") as results:
        answers = {row["id"]: row for row in map(json.loads, results)}
    lines = []
    for case in cases():
        answer = answers[str(case["id"])]
        row = {**case, **{k: v for k, v in answer.items() if k != "id"}}
        if "fire_times" in row:
            row["fire_times"] = [_iso(datetime.fromtimestamp(ms / 1000, UTC))
                                 for ms in answer["fire_times"]]
        lines.append(json.dumps(row, ensure_ascii=True))
    with open(zones_path, encoding="utf-8") as answered:
        zones = [json.dumps(json.loads(line)) for line in answered]
    instants = json.dumps([_iso(instant) for instant in INSTANTS])
    return ('{\n"about": ' + json.dumps(about) + ',\n"cases": [\n' + ",\n".join(lines)
            + '\n],\n"zone_instants": ' + instants + ',\n"zones": [\n' + ",\n".join(zones)
            + "\n]\n}\n")


def main(argv: list[str]) -> None:
    command = argv[1] if len(argv) > 1 else ""
    if command == "tsv":
        for case in cases():
            row = [case["id"], case["expression"], case["timezone"],
                   _ms(datetime.fromisoformat(str(case["after"]))), case["count"]]
            print("\t".join(str(part).replace("\t", "\\t") for part in row))
    elif command == "zone-ids":
        print("\n".join(ZONE_IDS))
    elif command == "instants":
        print(" ".join(str(_ms(instant)) for instant in INSTANTS))
    elif command == "assemble":
        sys.stdout.write(_assemble(argv[2], argv[3], argv[4]))
    else:
        sys.exit(f"usage: {argv[0]} tsv | zone-ids | instants | assemble RESULTS ZONES ABOUT")


if __name__ == "__main__":
    main(sys.argv)
