"""The one command table: every command, who may use it, where it works and who answers it.

Telegram's routing and command menus, the terminal's routing, and /help (per role, language and
channel) are all read from TABLE, so a command shown anywhere is a command that works there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain import Role

TELEGRAM = "telegram"
TERMINAL = "terminal"
CHANNELS = frozenset({TELEGRAM, TERMINAL})


class Handler(StrEnum):
    """Who answers a command: the coach, the champions' desk, or the admins' reports (files)."""

    COACH = "coach"
    DESK = "desk"
    REPORTS = "reports"


class Section(StrEnum):
    """Where /help lists a command: for everyone, for champions (and admins), for admins."""

    EVERYONE = "everyone"
    CHAMPIONS = "champions"
    ADMINS = "admins"


#: Each section's heading in /help (the first has none).
SECTION_TITLES = {
    Section.EVERYONE: None,
    Section.CHAMPIONS: "coach/help_champions",
    Section.ADMINS: "coach/help_admins",
}
#: Who sees each section; admins may do everything champions may.
SECTION_ROLES = {
    Section.EVERYONE: frozenset(Role),
    Section.CHAMPIONS: frozenset({Role.CHAMPION, Role.ADMIN}),
    Section.ADMINS: frozenset({Role.ADMIN}),
}


@dataclass(frozen=True)
class CommandSpec:
    """One command. `about` names the message that describes it in /help and the menus."""

    name: str
    handler: Handler
    section: Section
    about: str
    channels: frozenset[str] = CHANNELS
    #: In /help but not in Telegram's menu (`/start` is Telegram's own button).
    in_menu: bool = True

    @property
    def roles(self) -> frozenset[Role]:
        return SECTION_ROLES[self.section]


TABLE: tuple[CommandSpec, ...] = (
    CommandSpec("start", Handler.COACH, Section.EVERYONE, "commands/start"),
    CommandSpec("check", Handler.COACH, Section.EVERYONE, "commands/check"),
    CommandSpec("advice", Handler.COACH, Section.EVERYONE, "commands/advice"),
    CommandSpec("language", Handler.COACH, Section.EVERYONE, "commands/language"),
    CommandSpec("privacy", Handler.COACH, Section.EVERYONE, "commands/privacy"),
    CommandSpec("mydata", Handler.COACH, Section.EVERYONE, "commands/mydata"),
    CommandSpec("forget", Handler.COACH, Section.EVERYONE, "commands/forget"),
    CommandSpec("cancel", Handler.COACH, Section.EVERYONE, "commands/cancel"),
    CommandSpec("sessions", Handler.DESK, Section.EVERYONE, "commands/sessions"),
    CommandSpec("help", Handler.COACH, Section.EVERYONE, "commands/help"),
    CommandSpec("schedule", Handler.DESK, Section.CHAMPIONS, "commands/schedule"),
    CommandSpec("report", Handler.REPORTS, Section.ADMINS, "commands/report", frozenset({TELEGRAM})),
    CommandSpec("export", Handler.REPORTS, Section.ADMINS, "commands/export", frozenset({TELEGRAM})),
    # An invite is a t.me deep link: it needs the bot's Telegram name.
    CommandSpec("invite", Handler.DESK, Section.ADMINS, "commands/invite", frozenset({TELEGRAM})),
    CommandSpec("roles", Handler.DESK, Section.ADMINS, "commands/roles"),
    CommandSpec("revoke", Handler.DESK, Section.ADMINS, "commands/revoke"),
)
BY_NAME = {spec.name: spec for spec in TABLE}


def command(name: str, channel: str) -> CommandSpec | None:
    """The command called `name` if it works on `channel`; None for anything else."""
    spec = BY_NAME.get(name)
    return spec if spec is not None and channel in spec.channels else None


def names(handler: Handler, channel: str = TELEGRAM) -> tuple[str, ...]:
    """The commands one handler answers on a channel (Telegram registers its handlers from this)."""
    return tuple(s.name for s in TABLE if s.handler == handler and channel in s.channels)


def visible(role: Role, channel: str) -> tuple[CommandSpec, ...]:
    """What /help shows this role on this channel, in table order."""
    return tuple(s for s in TABLE if role in s.roles and channel in s.channels)


def menu(role: Role, channel: str = TELEGRAM) -> tuple[CommandSpec, ...]:
    """Telegram's command menu for a role: what /help shows, minus what is not for the menu."""
    return tuple(s for s in visible(role, channel) if s.in_menu)
