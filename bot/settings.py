"""The one settings object: nothing else in the project reads os.environ."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import PROJECT_ROOT


class Settings(BaseSettings):
    """Configuration from the environment; names follow PRODUCT.md so operators find them."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    telegram_bot_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str | None = Field(default=None, validation_alias="TELEGRAM_API_BASE_URL")
    telegram_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_WEBHOOK_SECRET"
    )
    database_url: str = Field(default="sqlite+aiosqlite:///coachbot.db", validation_alias="DATABASE_URL")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = Field(
        default=(), validation_alias=AliasChoices("COACHBOT_ADMIN_IDS", "admin_ids")
    )
    min_group: int = Field(default=5, ge=2, validation_alias="COACHBOT_MIN_GROUP")
    #: Hours a release of the current month's figures is shown before a report releases it anew
    #: (bot.reports.releases): reports in between show the same figures, so they cannot be subtracted.
    report_refresh_hours: float = Field(
        default=24.0, ge=0, le=24 * 31, validation_alias="COACHBOT_REPORT_REFRESH_HOURS"
    )
    timezone: str = Field(default="Europe/Amsterdam", validation_alias="COACHBOT_TIMEZONE")
    dialogues_dir: Path = Field(default=PROJECT_ROOT / "dialogues", validation_alias="COACHBOT_DIALOGUES_DIR")
    knowledge_dir: Path = Field(default=PROJECT_ROOT / "knowledge", validation_alias="COACHBOT_KNOWLEDGE_DIR")
    # Champions: when nudges go out, how long invites last, how the dispatcher paces itself.
    brief_hours: Annotated[tuple[int, ...], NoDecode] = Field(
        default=(24, 1), validation_alias=AliasChoices("COACHBOT_BRIEF_HOURS", "brief_hours")
    )
    followup_hours: int = Field(default=2, ge=0, le=24 * 14, validation_alias="COACHBOT_FOLLOWUP_HOURS")
    reminder_hours: int = Field(default=24, ge=1, le=24 * 14, validation_alias="COACHBOT_REMINDER_HOURS")
    recheck_weeks: int = Field(default=6, ge=1, le=104, validation_alias="COACHBOT_RECHECK_WEEKS")
    invite_days: int = Field(default=7, ge=1, le=90, validation_alias="COACHBOT_INVITE_DAYS")
    dispatch_seconds: float = Field(default=5.0, gt=0, le=3600, validation_alias="COACHBOT_DISPATCH_SECONDS")
    #: New messages per second the bot sends at most, all workers together (they share the budget
    #: through PostgreSQL); Telegram allows about 30 per bot overall.
    send_rate: float = Field(default=30.0, gt=0, le=30, validation_alias="COACHBOT_SEND_RATE")
    #: A claimed nudge not marked within this time is claimed again (a dispatcher crashed).
    nudge_lease_seconds: int = Field(default=300, ge=30, validation_alias="COACHBOT_NUDGE_LEASE_SECONDS")
    # Commitments and the nudges people get without asking (reminders, follow-ups, re-check offers).
    commitment_followup_days: int = Field(
        default=7, ge=1, le=60, validation_alias="COACHBOT_COMMITMENT_FOLLOWUP_DAYS"
    )
    max_nudges_per_week: int = Field(default=2, ge=1, le=50, validation_alias="COACHBOT_MAX_NUDGES_PER_WEEK")
    #: Quiet hours in COACHBOT_TIMEZONE: no such nudge from `quiet_from` until `quiet_until` (overnight).
    quiet_from: int = Field(default=19, ge=1, le=24, validation_alias="COACHBOT_QUIET_FROM")
    quiet_until: int = Field(default=8, ge=0, le=23, validation_alias="COACHBOT_QUIET_UNTIL")
    quiet_weekends: bool = Field(default=True, validation_alias="COACHBOT_QUIET_WEEKENDS")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept the comma-separated form operators write in an environment file."""
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        if isinstance(value, int):
            return (value,)
        return value

    @field_validator("brief_hours", mode="before")
    @classmethod
    def _split_hours(cls, value: object) -> object:
        """ "24,1" as operators write it; each brief is that many hours before the session."""
        if isinstance(value, str):
            value = tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        if isinstance(value, int):
            value = (value,)
        if isinstance(value, tuple | list) and any(not 0 < int(h) <= 24 * 14 for h in value):
            raise ValueError("each brief is between 1 and 336 hours before the session")
        return value

    @model_validator(mode="after")
    def _overnight_quiet(self) -> Settings:
        """Quiet hours run overnight: they start in the evening and end in the morning."""
        if self.quiet_until >= self.quiet_from:
            raise ValueError("COACHBOT_QUIET_UNTIL must be earlier in the day than COACHBOT_QUIET_FROM")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Fail at start-up rather than at the first nudge."""
        from zoneinfo import ZoneInfo

        ZoneInfo(value)
        return value


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; tests pass overrides instead of touching os.environ."""
    return Settings(**overrides)  # type: ignore[arg-type]
