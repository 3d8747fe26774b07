"""One function that takes secrets out of a text before it is written anywhere.

Every text headwater writes about a delivery (the outbox's `last_error`, the audit log, the
log lines and the terminal, and so the API and the UI that read them) goes through `redact`:

- every configured secret value (the variables `headwater.yml` names: SMTP passwords,
  webhook and Slack URLs, header values) becomes `[REDACTED]`, longest first, so a value
  inside another is not half-shown;
- every URL keeps its scheme and host only: its user info, path and query may hold a token
  (a Slack webhook URL is its own secret), so `https://hooks.slack.com/services/T0/B0/x`
  becomes `https://hooks.slack.com/[REDACTED]`.

Values shorter than `MIN_SECRET_LENGTH` are not replaced (they would blank common words);
derived forms of a secret (its hash, a substring) cannot be recognised.
"""

from __future__ import annotations

import re
from collections.abc import Collection

MARK = "[REDACTED]"
MIN_SECRET_LENGTH = 6
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/\s?#@]*@)?"
                  r"(?P<host>[^/\s?#@]+)(?P<rest>[/?#][^\s\"'<>]*)?")


def redact(text: str, secrets: Collection[str] = ()) -> str:
    """`text` without the `secrets` and without any URL's user info, path or query."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= MIN_SECRET_LENGTH:
            text = text.replace(value, MARK)
    return _URL.sub(_url_without_secrets, text)


def without_password(url: str) -> str:
    """A database URL to show: `postgresql://user:secret@host/db` as `postgresql://user:***@host/db`
    (the database's name and host stay: an operator needs them)."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@/\s]*@", r"\1:***@", url)


def _url_without_secrets(match: re.Match[str]) -> str:
    user = f"{MARK}@" if match["user"] else ""
    rest = match["rest"] or ""
    kept = rest.rstrip(".,:;)]")  # the sentence's punctuation after the URL stays
    trail = rest[len(kept):]
    path = f"/{MARK}" if kept not in ("", "/") else kept
    return f"{match['scheme']}{user}{match['host']}{path}{trail}"


__all__ = ["MARK", "MIN_SECRET_LENGTH", "redact", "without_password"]
