"""Which headwater this is."""

from __future__ import annotations


def installed_version() -> str:
    """headwater's installed version; "unknown" from a source tree that was never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("headwater")
    except PackageNotFoundError:
        return "unknown"


__all__ = ["installed_version"]
