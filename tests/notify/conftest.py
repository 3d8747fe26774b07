"""The delivery tests' fixtures, from notify_servers.py (a module of its own name, so that
test modules can import its helpers whatever other conftest.py is loaded)."""

from notify_servers import blackhole, http_sink, smtp, store

__all__ = ["blackhole", "http_sink", "smtp", "store"]
