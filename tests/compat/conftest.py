"""The compatibility corpus runs through the real CLI, as the end-to-end tests do."""

from tests.e2e.conftest import hw

__all__ = ["hw"]
