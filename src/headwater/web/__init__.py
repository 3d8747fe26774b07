"""The web UI of `headwater server`: jobs, runs live, logs, repair, edits, permissions, audit
and metrics in the browser, server-rendered over the service (see app.py)."""

from headwater.web.app import WebSettings, create_web_app, with_web_ui

__all__ = ["WebSettings", "create_web_app", "with_web_ui"]
