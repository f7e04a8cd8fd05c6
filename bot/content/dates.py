"""Dates the way a Dutch or English reader writes them, in the organisation's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

_LOCALES = {"nl": "nl_NL", "en": "en_GB"}
_PATTERNS = {"nl": "EEEE d MMMM 'om' HH:mm", "en": "EEEE d MMMM 'at' HH:mm"}
_SHORT = {"nl": "d MMM yyyy", "en": "d MMM yyyy"}


def spoken(moment: datetime, lang: str, zone: str) -> str:
    """e.g. "dinsdag 3 maart om 14:00": wall-clock time in `zone`, whatever DST does."""
    local = moment.astimezone(ZoneInfo(zone))
    return format_datetime(local, _PATTERNS[lang], locale=_LOCALES[lang])


def short_date(moment: datetime, lang: str, zone: str) -> str:
    """e.g. "3 mrt 2026", for lists."""
    local = moment.astimezone(ZoneInfo(zone))
    return format_datetime(local, _SHORT[lang], locale=_LOCALES[lang])
