"""`w.current_user.me()` of the databricks-sdk against a real server: who the token is, in
which groups, and (for a user named by an e-mail address, as on Databricks) their e-mail."""

from __future__ import annotations

import pytest

from tests.servers import Server

from .conftest import sdk_client


def test_me_names_the_token_s_user_their_groups_and_e_mail(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    ana = sdk_client(server, server.token("ana@example.com", admin=True), monkeypatch)
    bob = sdk_client(server, server.token("bob"), monkeypatch)

    me, other = ana.current_user.me(), bob.current_user.me()

    assert me.user_name == "ana@example.com" and me.active
    assert [(e.value, e.primary) for e in me.emails or []] == [("ana@example.com", True)]
    assert sorted(g.display for g in me.groups or [] if g.display) == ["admins", "users"]
    assert other.user_name == "bob" and not other.emails
    assert [g.display for g in other.groups or []] == ["users"]
