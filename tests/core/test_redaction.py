"""The one redaction function: configured secrets and every URL's path, query and user info."""

from __future__ import annotations

import pytest

from headwater.core.redaction import redact, without_password


@pytest.mark.parametrize(("text", "expected"), [
    ("POST https://hooks.slack.com/services/T0/B0/XyZ: HTTP 500",
     "POST https://hooks.slack.com/[REDACTED]: HTTP 500"),
    ("GET http://user:pw@10.0.0.1:8080/hook?token=abc#x failed",
     "GET http://[REDACTED]@10.0.0.1:8080/[REDACTED] failed"),
    ("see http://127.0.0.1:9 and https://example.com/", "see http://127.0.0.1:9 and "
                                                        "https://example.com/"),
    ("no url here", "no url here"),
])
def test_urls_keep_their_scheme_and_host_only(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_configured_secrets_are_replaced_longest_first_and_short_ones_kept() -> None:
    secrets = ["hunter2-long-password", "hunter2", "abc"]

    assert redact("auth failed for hunter2-long-password, then hunter2, abc", secrets) == \
        "auth failed for [REDACTED], then [REDACTED], abc"


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://hw:s3cr%40t@db.internal:5432/prod",
     "postgresql+psycopg://hw:***@db.internal:5432/prod"),
    ("postgresql://hw@db/prod", "postgresql://hw@db/prod"),
    ("sqlite:////var/lib/headwater/state.db", "sqlite:////var/lib/headwater/state.db"),
])
def test_a_database_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert without_password(url) == shown
