"""What a unit of work can raise that its caller is expected to handle: both mean "run the turn again"."""

from __future__ import annotations


class StorageUnavailable(Exception):
    """The database could not be reached or was busy; the turn wrote nothing and may be retried."""


class StaleVersion(Exception):
    """Another writer moved a versioned row (a position, a draft) first; the caller retries the whole turn."""
