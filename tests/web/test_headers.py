"""Every web answer carries the security headers; pages are never cached, static files are."""

from __future__ import annotations

from tests.servers import Server


def test_pages_and_static_files_carry_the_security_headers(server: Server) -> None:
    page, static = server.call("GET", "/signin"), server.call("GET", "/static/app.js")

    for reply in (page, static):
        assert reply.status == 200
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
        assert reply.headers["x-frame-options"] == "DENY"
        assert reply.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert static.headers["cache-control"] == "public, max-age=31536000, immutable"
