"""Web sessions and API tokens on a real server: revoking a token ends the sessions opened
with it, a session's cookie is no API token, `tokens revoke --user` offboards, each step is
audited, and an address that keeps sending bad tokens is locked out with 429."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from tests.servers import Server, clean_env

from headwater.bootstrap import application
from headwater.config import current_user
from headwater.core.audit import AuditAction
from headwater.errors import InvalidRequest


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    found = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}",
                   extra_args=("--failed-auth-limit", "1")).start()
    yield found
    found.close()


def sign_in(server: Server, token: str) -> requests.Session:
    """A browser's sign-in: the form (and its nonce cookie), then the token posted."""
    browser = requests.Session()
    form = browser.get(f"{server.url}/signin", timeout=30)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce is not None, form.text
    answer = browser.post(f"{server.url}/signin", timeout=30, allow_redirects=False,
                          data={"token": token, "nonce": nonce[1], "next": "/jobs"})
    assert answer.status_code == 303, answer.text
    assert "headwater_session" in browser.cookies
    return browser


def signed_in(browser: requests.Session, server: Server) -> bool:
    """Whether the session still opens pages (else the UI sends the browser to sign in)."""
    page = browser.get(f"{server.url}/jobs", timeout=30, allow_redirects=False)
    assert page.status_code in (200, 303), page.text
    return page.status_code == 200


def tokens_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "headwater", "tokens", *args,
                           "--db", server.db_url], cwd=server.workdir, env=clean_env(),
                          capture_output=True, text=True, timeout=120)


def audit(server: Server) -> list[tuple[str, str, dict[str, object]]]:
    with application(server.settings()) as app:
        entries = app.service.audit_entries(limit=None)
    return [(e.entry.actor, e.entry.action, dict(e.entry.details)) for e in entries
            if e.entry.action.startswith(("token.", "session."))]


def token_ids(server: Server, user: str) -> list[int]:
    with application(server.settings()) as app:
        return [t.token_id for t in app.service.list_tokens() if t.user == user]


def test_revoking_a_token_ends_the_sessions_opened_with_it_audited(server: Server) -> None:
    carol = server.token("carol", admin=True)
    [carol_id] = token_ids(server, "carol")
    browser = sign_in(server, carol)
    [_, session_id] = token_ids(server, "carol")
    assert signed_in(browser, server)

    revoked = tokens_cli(server, "revoke", str(carol_id))

    assert revoked.returncode == 0, revoked.stderr
    assert f"revoked tokens {carol_id}, {session_id}" in revoked.stderr
    assert not signed_in(browser, server)
    listed = tokens_cli(server, "list").stdout
    assert f"web session of token {carol_id}" in listed
    assert audit(server) == [
        (server_admin(), AuditAction.TOKEN_CREATED,
         {"user": "carol", "admin": True, "comment": "", "expiry_time": None,
          "token_id": carol_id}),
        ("carol", AuditAction.SESSION_OPENED,
         {"parent_token_id": carol_id, "address": "127.0.0.1", "token_id": session_id}),
        (server_admin(), AuditAction.TOKEN_REVOKED, {"revoked": [carol_id, session_id]})]


def server_admin() -> str:
    """Who the command line acts as on its own store (the tests' OS user)."""
    return current_user(clean_env())


def test_a_session_cookie_is_no_api_token_and_signs_in_nothing(server: Server) -> None:
    browser = sign_in(server, server.token("dan"))
    session = browser.cookies["headwater_session"]

    answer = server.call("GET", "/api/2.2/jobs/list", token=session)

    assert answer.status == 401
    assert "web session's token" in answer.body["message"]
    again = requests.Session()
    nonce = re.search(r'name="nonce" value="([^"]+)"',
                      again.get(f"{server.url}/signin", timeout=30).text)
    assert nonce is not None
    refused = again.post(f"{server.url}/signin", timeout=30, allow_redirects=False,
                         data={"token": session, "nonce": nonce[1], "next": "/jobs"})
    assert refused.status_code == 401  # a session does not open another


def test_signing_out_is_audited_and_ends_the_session(server: Server) -> None:
    browser = sign_in(server, server.token("erin"))
    page = browser.get(f"{server.url}/jobs", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None, page

    out = browser.post(f"{server.url}/signout", data={"csrf_token": csrf[1]}, timeout=30,
                       allow_redirects=False)

    assert out.status_code == 303
    assert not signed_in(browser, server)
    assert audit(server)[-1][:2] == ("erin", AuditAction.SESSION_CLOSED)


def test_tokens_revoke_user_revokes_every_token_and_session_of_that_user(
        server: Server) -> None:
    first, _ = server.token("fay"), server.token("fay")
    other = server.token("gus")
    browser = sign_in(server, first)

    revoked = tokens_cli(server, "revoke", "--user", "fay")

    assert revoked.returncode == 0, revoked.stderr
    assert not signed_in(browser, server)
    assert server.call("GET", "/api/2.2/jobs/list", token=first).status == 401
    assert server.call("GET", "/api/2.2/jobs/list", token=other).status == 200
    assert tokens_cli(server, "revoke", "--user", "fay").returncode != 0  # none left
    both = tokens_cli(server, "revoke", "1", "--user", "fay")
    assert both.returncode != 0 and "not both" in both.stderr


def test_a_session_ends_when_the_token_it_was_opened_with_expires(server: Server) -> None:
    with application(server.settings()) as app:
        made = app.service.create_token("hal", lifetime_days=1)
        opened = app.service.open_session(made.token, timedelta(days=7))
        assert opened is not None
        session = app.service.valid_token(opened[1])
    assert session is not None and session.expiry_time == made.record.expiry_time


def test_an_address_that_keeps_failing_to_authenticate_is_locked_out(server: Server) -> None:
    good = server.token("ivy")
    failures = [server.call("GET", "/api/2.2/jobs/list", token=f"dapi-guess-{n}").status
                for n in range(20)]

    locked = server.call("GET", "/api/2.2/jobs/list", token=good)

    assert failures == [401] * 20
    assert locked.status == 429 and int(locked.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins" in locked.body["message"]
    browser = requests.Session()
    form = browser.get(f"{server.url}/signin", timeout=30)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce is not None
    page = browser.post(f"{server.url}/signin", timeout=30, allow_redirects=False,
                        data={"token": good, "nonce": nonce[1], "next": "/jobs"})
    assert page.status_code == 429 and "Too many failed sign-ins" in page.text
    assert server.log.read_text().count("refused an unknown, revoked or expired token from "
                                        "127.0.0.1") == 20


@pytest.mark.parametrize("group", ["admins", "users"])
def test_no_token_is_made_for_a_user_named_as_a_built_in_group(tmp_path: Path,
                                                                group: str) -> None:
    # A secret scope's `admins` entry, or a job's grant to `users`, names the group: a user
    # of that name would be given what the group has. (Made on the store, as `headwater
    # tokens create` makes it: no server process needed.)
    store = Server(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    with application(store.settings()) as app, \
            pytest.raises(InvalidRequest, match=f"not '{group}': it names a built-in group"):
        app.service.create_token(group)


def test_a_forwarded_address_from_a_client_counts_for_nothing(server: Server) -> None:
    # Given a client that names another address in each guess (no proxy is configured)
    good = server.token("ivy")
    failures = [server.call("GET", "/api/2.2/jobs/list", token=f"dapi-guess-{n}",
                            headers={"X-Forwarded-For": f"203.0.113.{n}"}).status
                for n in range(20)]

    # Then its guesses still count against its own address, which the log names
    locked = server.call("GET", "/api/2.2/jobs/list", token=good,
                         headers={"X-Forwarded-For": "203.0.113.99"})
    assert failures == [401] * 20
    assert locked.status == 429
    log = server.log.read_text()
    assert log.count("refused an unknown, revoked or expired token from 127.0.0.1") == 20
    assert "203.0.113." not in log
