"""One way in for every channel: an event goes to the coach or the champions' desk by the command
table (bot/commands.py) and by the prefix of a button's data, the same way on every channel.

The terminal routes everything through here; Telegram registers its handlers from the same table
and prefixes, so a command that works in one channel works in the other unless the table says not.
"""

from __future__ import annotations

from bot import callbacks, commands
from bot.champions.clock import SYSTEM_CLOCK, Clock
from bot.champions.desk import ChampionDesk
from bot.coach import Coach
from bot.conversation import Command, Inbound, Outcome, Start, Tap, Text, Visitor


class Router:
    """Routes one event; holds only the coach and the desk, both shared by every turn."""

    def __init__(self, coach: Coach, desk: ChampionDesk) -> None:
        self.coach = coach
        self.desk = desk

    @classmethod
    def around(cls, coach: Coach, clock: Clock = SYSTEM_CLOCK) -> Router:
        """A router with its own desk on the coach's database and settings."""
        return cls(coach, ChampionDesk(coach.store, coach, coach.settings, clock))

    async def handle(
        self, visitor: Visitor, inbound: Inbound, *, update_id: int | None = None, bot_username: str = ""
    ) -> Outcome:
        if isinstance(inbound, Start | Command):
            name = inbound.name if isinstance(inbound, Command) else "start"
            # A command during a guided dialogue: /cancel stops it, anything else drops it first.
            stopped = await self.desk.interrupt(visitor, name, update_id=update_id)
            if stopped is not None:
                return stopped
            spec = commands.command(name, visitor.channel)
            if isinstance(inbound, Command) and spec is not None and spec.handler == commands.Handler.DESK:
                return await self.desk.command(
                    visitor, name, inbound.argument, update_id=update_id, bot_username=bot_username
                )
            return await self.coach.handle(visitor, inbound, update_id=update_id)
        if isinstance(inbound, Tap) and callbacks.owner_of(inbound.data) == callbacks.DESK:
            return await self.desk.tap(visitor, inbound.data, update_id=update_id)
        if isinstance(inbound, Text):
            answered = await self.desk.text(visitor, inbound.text, update_id=update_id)
            if answered is not None:
                return answered
        return await self.coach.handle(visitor, inbound, update_id=update_id)
