"""Java time-zone ids, as Lakeflow's `timezone_id` takes them, read with `zoneinfo`.

Java's `TimeZone.getTimeZone` knows three kinds of ids, and headwater accepts all three:

- the IANA ids (`Europe/Amsterdam`, `UTC`, `Etc/GMT-2`, `EST5EDT`), read from the IANA database
  that `zoneinfo` finds (the system's, or the `tzdata` package);
- the legacy three-letter ids Java keeps (`PST`, `IST`, `ECT`, ...): links to IANA zones, as
  Java's own table has them (`LEGACY_IDS`); `EST`, `MST` and `HST` are fixed offsets, as in
  Java;
- custom offsets `GMT+h`, `GMT+hh`, `GMT+hhmm`, `GMT+h:mm`, `GMT+hh:mm` (and `-`), hours up to 23.

Ids are case-sensitive, as in Java. An id Java does not know makes Quartz fall back to GMT
without a word; headwater refuses it and suggests the nearest known id. `posix/...`,
`right/...`, `posixrules`, `localtime` and `Factory` are files of the database, not zones Java
knows, and are refused too. So are Java's `SystemV/...` ids (`SystemV/EST5EDT`): the IANA
database dropped them in 2020 and their daylight-saving rules are the US rules of the 1970s,
which is never what a schedule means.
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from headwater.core.cron_syntax import CronError

__all__ = ["LEGACY_IDS", "time_zone"]

# Java's old three-letter ids (sun.util.calendar.ZoneInfoFile) and the zones they stand for.
LEGACY_IDS = {
    "ACT": "Australia/Darwin", "AET": "Australia/Sydney",
    "AGT": "America/Argentina/Buenos_Aires", "ART": "Africa/Cairo", "AST": "America/Anchorage",
    "BET": "America/Sao_Paulo", "BST": "Asia/Dhaka", "CAT": "Africa/Harare",
    "CNT": "America/St_Johns", "CST": "America/Chicago", "CTT": "Asia/Shanghai",
    "EAT": "Africa/Addis_Ababa", "ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis",
    "IST": "Asia/Kolkata", "JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan",
    "NST": "Pacific/Auckland", "PLT": "Asia/Karachi", "PNT": "America/Phoenix",
    "PRT": "America/Puerto_Rico", "PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal",
    "VST": "Asia/Ho_Chi_Minh",
}
FIXED_IDS = {"EST": -5, "MST": -7, "HST": -10}  # hours; Java has no daylight saving in these
NOT_ZONES = ("posixrules", "localtime", "Factory")
_CUSTOM = re.compile(r"GMT([+-])(\d{1,2})(?::?(\d{2}))?")
_EXAMPLES = "such as 'Europe/Amsterdam', 'America/New_York', 'UTC' or 'GMT+05:30'"


def time_zone(timezone_id: str) -> tzinfo:
    """The zone a Java time-zone id names.

    Raises:
        CronError: Java does not know the id (Quartz would quietly use GMT instead).
    """
    if timezone_id in FIXED_IDS:
        return timezone(timedelta(hours=FIXED_IDS[timezone_id]), timezone_id)
    custom = _CUSTOM.fullmatch(timezone_id)
    if custom is not None:
        return _custom(timezone_id, *custom.groups())
    if timezone_id.startswith("SystemV/"):
        raise CronError(f"time zone {timezone_id!r} is an obsolete Java id (daylight saving as in "
                        "the US of the 1970s); name the zone you mean, e.g. 'America/New_York', "
                        "or a fixed offset such as 'Etc/GMT+5'")
    key = LEGACY_IDS.get(timezone_id, timezone_id)
    if _plain_key(key):
        try:
            return ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise CronError(f"unknown time zone {timezone_id!r}{_suggestion(timezone_id)}; use a Java "
                    f"time-zone id, {_EXAMPLES}")


def _plain_key(key: str) -> bool:
    """Whether `key` may name a zone at all: no path tricks, no files that are not zones."""
    parts = key.split("/")
    return bool(key) and key not in NOT_ZONES and parts[0] not in ("posix", "right") \
        and all(part not in ("", ".", "..") for part in parts)


def _custom(timezone_id: str, sign: str, hours: str, minutes: str | None) -> tzinfo:
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if int(hours) > 23 or int(minutes or 0) > 59:
        raise CronError(f"unknown time zone {timezone_id!r}: a custom offset is GMT+hh:mm with "
                        "hours up to 23 and minutes up to 59")
    name = f"GMT{sign}{int(hours):02d}:{int(minutes or 0):02d}"
    return timezone(-offset if sign == "-" else offset, name)


def _suggestion(timezone_id: str) -> str:
    """` (did you mean 'Europe/Amsterdam'?)` for the closest known id, or "": the same id in
    another case, else a close spelling, else a known city among the id's parts."""
    known = sorted({*available_timezones(), *LEGACY_IDS, *FIXED_IDS} - set(NOT_ZONES))
    same = [name for name in known if name.lower() == timezone_id.lower()]
    close = same or difflib.get_close_matches(timezone_id, known, n=1, cutoff=0.8)
    cities = {name.rsplit("/", 1)[-1].lower(): name for name in known if "/" in name}
    for part in reversed(timezone_id.split("/") if not close else []):
        matches = difflib.get_close_matches(part.lower(), cities, n=1, cutoff=0.8)
        close = [cities[city] for city in matches]
        if close:
            break
    return f" (did you mean {close[0]!r}?)" if close else ""
