"""A signed-in user of a real server's pages without a browser, for the tests of what the
routes answer: the session opened on the server's store (what signing in does), pages read
and forms posted over HTTP as a browser sends them, with the session's CSRF token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from headwater.bootstrap import application
from headwater.web.session import SESSION_COOKIE, csrf_token
from tests.servers import Reply, Server

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class PageUser:
    """One user's session on `server`'s pages."""

    server: Server
    session: str

    def get(self, path: str) -> Reply:
        return self.server.call("GET", path, headers=self._cookie())

    def post(self, path: str, fields: Mapping[str, str] | None = None,
             with_csrf: bool = True) -> Reply:
        """A form posted as a browser posts it (redirects are not followed)."""
        sent = {**(fields or {}), **({"csrf_token": csrf_token(self.session)} if with_csrf
                                     else {})}
        return self.server.call("POST", path, raw=urlencode(sent).encode(),
                                headers={**self._cookie(), "Content-Type": FORM})

    def _cookie(self) -> dict[str, str]:
        return {"Cookie": f"{SESSION_COOKIE}={self.session}"}


def signed_in(server: Server, token: str) -> PageUser:
    """A session of the user of `token`, as the sign-in page opens one."""
    with application(server.settings()) as app:
        opened = app.service.open_session(token, timedelta(hours=1))
    assert opened is not None
    return PageUser(server, opened[1])
