"""Persistence for the coach: SQLite for a single process, PostgreSQL when several workers share state.

The rest of the bot depends on bot.ports; `Database` is the implementation it is handed at start-up.
"""

from bot.storage.database import Database
from bot.storage.repository import SqlCoachRepository

__all__ = ["Database", "SqlCoachRepository"]
