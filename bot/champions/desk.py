"""The champions' desk: what admins and champions do in the chat, as Outcomes (like the coach).

Invites and roles (admins), scheduling, moving and cancelling sessions (admins, and champions for
their own), follow-up reports, and the taps on nudges (reminders on or off, re-check offers). Every
event runs in one transaction that claims the Telegram update id and locks the person's row, so a
redelivered update does nothing twice. The guided dialogues (scheduling, moving, a follow-up) are
YAML dialogues on the coach's engine (bot/champions/scheduling.py): the desk begins them, and their
answers reach them through the coach, in the coach's transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import callbacks
from bot.callbacks import FollowupTap, RecheckTap, RemindersTap, RevokeTap, SessionTap
from bot.champions import scheduling
from bot.champions.clock import SYSTEM_CLOCK, Clock
from bot.champions.compose import Composer, SessionView, holder_label, language_of, session_view
from bot.champions.nudges import plan_reminders_for
from bot.champions.scheduling import SessionDialogues
from bot.champions.scheduling import Turn as DialogueTurn
from bot.champions.sessions import (
    cancel_session,
    is_admin,
    is_for,
    may_manage,
    may_schedule,
    step_down,
    visible_sessions,
)
from bot.coach import Coach
from bot.content.dates import spoken
from bot.conversation import Button, Command, Edit, Outcome, Visitor
from bot.domain import InspirationSession, NudgeKind, Person, Position, Role, SessionKind
from bot.engine.engine import idle_position
from bot.invites import INVITABLE, clean_label, create_department_invite, create_invite, deep_link
from bot.settings import Settings
from bot.storage.database import Database
from bot.storage.unit_of_work import UnitOfWork

#: The desk's buttons (bot.callbacks), by prefix: Telegram routes presses to the desk by these.
TAP_PREFIXES = callbacks.prefixes(callbacks.DESK)
#: Words /invite understands for a role, in both languages.
ROLE_WORDS = {
    "champion": Role.CHAMPION,
    "aanjager": Role.CHAMPION,
    "admin": Role.ADMIN,
    "beheerder": Role.ADMIN,
}
#: Words /invite understands for a department invite (a vouched-for member), in both languages.
DEPARTMENT_WORDS = ("department", "afdeling")
#: How many upcoming sessions /sessions lists (each may carry two buttons).
LIST_LIMIT = 10

Buttons = tuple[tuple[Button, ...], ...]


@dataclass
class _Turn:
    """One event: its unit of work, who, in what language, when."""

    repo: UnitOfWork
    person: Person | None
    lang: str
    now: datetime
    #: Where the person stands in the dialogues (None for someone unknown).
    position: Position | None = None

    def dialogue_turn(self) -> DialogueTurn:
        """The same event as the session dialogues see it (a known person)."""
        assert self.person is not None
        return DialogueTurn(self.repo, self.person, self.lang, self.now)


class ChampionDesk:
    """Answers champion and admin events; holds only shared, read-only things between them."""

    def __init__(
        self, database: Database, coach: Coach, settings: Settings, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.database = database
        self.coach = coach
        self.settings = settings
        self.compose = Composer(coach.catalog, settings)
        self.dialogues = SessionDialogues(coach, self.compose, clock)
        coach.add_aside(self.dialogues)

    @property
    def clock(self) -> Clock:
        """The desk's and its dialogues' clock, one and the same (tests move a ManualClock)."""
        return self.dialogues.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.dialogues.clock = clock

    # -- entry points ------------------------------------------------------------------------------

    async def command(
        self,
        visitor: Visitor,
        name: str,
        argument: str = "",
        *,
        update_id: int | None = None,
        bot_username: str = "",
    ) -> Outcome:
        """/invite, /roles, /revoke, /sessions, /schedule."""
        actions: dict[str, Callable[[_Turn], Awaitable[Outcome]]] = {
            "invite": lambda turn: self._invite(turn, argument, bot_username),
            "roles": self._roles,
            "revoke": self._revoke,
            "sessions": self._sessions,
            "schedule": self._schedule,
        }
        if name not in actions:
            raise ValueError(f"the desk does not answer /{name}")
        return await self._run(visitor, update_id, actions[name], command=True)

    async def tap(self, visitor: Visitor, data: str, *, update_id: int | None = None) -> Outcome:
        """A press on one of the desk's buttons (sessions, roles, nudges)."""
        if callbacks.decode(data) == RecheckTap(start=True):
            # The re-check offer hands over to the coach, which claims the update itself.
            outcome = await self.coach.handle(visitor, Command("check"), update_id=update_id)
            return outcome if outcome.duplicate else dataclasses.replace(outcome, edit=Edit(None, ()))
        return await self._run(visitor, update_id, lambda turn: self._tap(turn, data))

    # -- plumbing ----------------------------------------------------------------------------------

    def _listed(self, visitor: Visitor) -> bool:
        return (
            visitor.channel == "telegram"
            and visitor.external_id.isdigit()
            and int(visitor.external_id) in self.settings.admin_ids
        )

    async def _run(
        self,
        visitor: Visitor,
        update_id: int | None,
        action: Callable[[_Turn], Awaitable[Outcome]],
        *,
        command: bool = False,
    ) -> Outcome:
        async with self.database.transaction() as repo:
            if update_id is not None and not await repo.updates.claim_update(update_id):
                return Outcome(duplicate=True)
            # Configured admins may act before they ever sent /start; everyone else must exist.
            person, stored = await repo.person_and_position(
                visitor.channel, visitor.external_id, create=self._listed(visitor)
            )
            lang = language_of(person.language if person else None, visitor.language_hint)
            position = stored or (idle_position(person.id) if person else None)
            if command and position is not None:
                # A command during a guided dialogue leaves it, back to where the person was.
                position = await self.dialogues.drop(repo, position)
            turn = _Turn(repo, person, lang, self.clock.now(), position)
            outcome = await action(turn)
            return dataclasses.replace(outcome, language=lang)

    def _text_of(self, lang: str, template: str, **context: Any) -> str:
        return self.compose.text(lang, template, **context)

    def _msg(self, turn: _Turn, template: str, buttons: Buttons = (), **context: Any) -> Outcome:
        return Outcome(messages=(self.compose.message(turn.lang, template, buttons, **context),))

    def _stale(self, turn: _Turn) -> Outcome:
        return Outcome(notice=self.coach.catalog.renderer.render(turn.lang, "coach/stale"))

    def _notice(self, turn: _Turn, template: str, **context: Any) -> Outcome:
        return Outcome(notice=self._text_of(turn.lang, template, **context))

    async def _view(self, turn: _Turn, session: InspirationSession) -> SessionView:
        names = {d.id: d.name for d in await turn.repo.departments.departments()}
        holders = {h.person_id: h for h in await turn.repo.roles.role_holders()}
        return session_view(session, names, holders)

    # -- invites and roles ---------------------------------------------------------------------------

    async def _invite(self, turn: _Turn, argument: str, bot_username: str) -> Outcome:
        person = turn.person
        word, _, rest = argument.strip().partition(" ")
        if word.lower() in DEPARTMENT_WORDS:
            return await self._department_invite(turn, rest, bot_username)
        if person is None or not is_admin(person, self.settings):
            return self._msg(turn, "champions/admins_only")
        role = ROLE_WORDS.get(word.lower())
        if role not in INVITABLE:
            return self._msg(turn, "champions/invite_usage", days=self.settings.invite_days)
        assert role is not None
        label = clean_label(rest)
        invite = await create_invite(
            turn.repo,
            role=role,
            created_by=person.id,
            label=label,
            now=turn.now,
            valid_days=self.settings.invite_days,
        )
        return self._msg(
            turn,
            "champions/invite_created",
            role=str(role),
            role_name=self.compose.role_name(turn.lang, role),
            link=deep_link(bot_username, invite.code),
            until=spoken(invite.expires_at, turn.lang, self.settings.timezone),
            label=label or "",
            number=invite.id,
        )

    async def _department_invite(self, turn: _Turn, name: str, bot_username: str) -> Outcome:
        """/invite department NAME: admins and champions vouch for one colleague of a department."""
        person = turn.person
        if person is None or not (is_admin(person, self.settings) or person.role == Role.CHAMPION):
            return self._msg(turn, "champions/champions_only")
        department = await turn.repo.departments.department_by_name(name)  # refuses what cannot be one
        if department is None:
            names = [d.name for d in await turn.repo.departments.departments()]
            return self._msg(turn, "champions/invite_department_unknown", departments=names)
        invite = await create_department_invite(
            turn.repo,
            department_id=department.id,
            created_by=person.id,
            label=clean_label(department.name),
            now=turn.now,
            valid_days=self.settings.invite_days,
        )
        return self._msg(
            turn,
            "champions/invite_department_created",
            department=department.name,
            link=deep_link(bot_username, invite.code),
            until=spoken(invite.expires_at, turn.lang, self.settings.timezone),
            number=invite.id,
        )

    async def _roles(self, turn: _Turn) -> Outcome:
        if turn.person is None or not is_admin(turn.person, self.settings):
            return self._msg(turn, "champions/admins_only")
        holders = [
            {
                "label": holder_label(h),
                "role": str(h.role),
                "role_name": self.compose.role_name(turn.lang, h.role),
                "listed": h.external_id.isdigit() and int(h.external_id) in self.settings.admin_ids,
            }
            for h in await turn.repo.roles.role_holders()
        ]
        return self._msg(turn, "champions/roles", holders=holders, listed=len(self.settings.admin_ids))

    async def _revoke(self, turn: _Turn) -> Outcome:
        person = turn.person
        if person is None or not is_admin(person, self.settings):
            return self._msg(turn, "champions/admins_only")
        rows = tuple(
            (
                Button(
                    f"{holder_label(h)} ({self.compose.role_name(turn.lang, h.role)})",
                    callbacks.encode(RevokeTap(h.person_id)),
                ),
            )
            for h in await turn.repo.roles.role_holders()
            if h.person_id != person.id
            and not (h.external_id.isdigit() and int(h.external_id) in self.settings.admin_ids)
        )
        if not rows:
            return self._msg(turn, "champions/revoke_none")
        return self._msg(turn, "champions/revoke_choose", rows)

    async def _revoke_tap(self, turn: _Turn, person_id: int) -> Outcome:
        person = turn.person
        if person is None or not is_admin(person, self.settings):
            return self._notice(turn, "champions/admins_only")
        if person_id == person.id:
            return self._notice(turn, "champions/revoke_self")
        holders = {h.person_id: h for h in await turn.repo.roles.role_holders()}
        target = await turn.repo.people.person(person_id)
        if target is None or person_id not in holders:
            return self._stale(turn)
        if target.external_id.isdigit() and int(target.external_id) in self.settings.admin_ids:
            return self._notice(turn, "champions/revoke_listed")
        await step_down(turn.repo, target, turn.now)
        text = self._text_of(
            turn.lang,
            "champions/revoked",
            label=holder_label(holders[person_id]),
            role_name=self.compose.role_name(turn.lang, target.role),
        )
        return Outcome(edit=Edit(text), changed=True)

    # -- sessions: listing ---------------------------------------------------------------------------

    async def _sessions(self, turn: _Turn) -> Outcome:
        person = turn.person
        if person is None or not (person.consent or is_admin(person, self.settings)):
            return self._msg(turn, "champions/needs_start")
        upcoming = visible_sessions(
            person, await turn.repo.sessions.upcoming_sessions(turn.now, limit=50), self.settings
        )
        manager = may_schedule(person, self.settings)
        items: list[dict[str, Any]] = []
        rows: list[tuple[Button, ...]] = []
        for session in upcoming[:LIST_LIMIT]:
            view = await self._view(turn, session)
            item = self.compose.session_context(view, turn.lang)
            item["runs_it"] = person.id in session.champion_ids
            item["for_me"] = is_for(person, session)
            items.append(item)
            if may_manage(person, session, self.settings):
                rows.append(
                    (
                        Button(
                            self._text_of(turn.lang, "champions/button_move", number=session.id),
                            callbacks.encode(SessionTap("m", session.id)),
                        ),
                        Button(
                            self._text_of(turn.lang, "champions/button_cancel", number=session.id),
                            callbacks.encode(SessionTap("x", session.id)),
                        ),
                    )
                )
        recent: list[dict[str, Any]] = []
        if manager:
            for session in visible_sessions(
                person, await turn.repo.sessions.recent_sessions(turn.now), self.settings
            ):
                recent.append(self.compose.session_context(await self._view(turn, session), turn.lang))
                recent[-1].update(attended=session.attended, want_workshop=session.want_workshop)
        reminders, _ = await turn.repo.people.preferences(person.id)
        if person.consent:
            template = "champions/button_reminders_off" if reminders else "champions/button_reminders_on"
            rows.append(
                (Button(self._text_of(turn.lang, template), callbacks.encode(RemindersTap(not reminders))),)
            )
        return self._msg(
            turn,
            "champions/sessions",
            tuple(rows),
            sessions=items,
            more=max(0, len(upcoming) - LIST_LIMIT),
            recent=recent,
            manager=manager,
            reminders=reminders,
        )

    # -- sessions: the guided dialogues -------------------------------------------------------------------

    async def _schedule(self, turn: _Turn) -> Outcome:
        person = turn.person
        if person is None or turn.position is None or not may_schedule(person, self.settings):
            return self._msg(turn, "champions/champions_only")
        return await self.dialogues.begin(turn.dialogue_turn(), turn.position, scheduling.SCHEDULE)

    def _changeable(self, person: Person, session: InspirationSession, now: datetime) -> bool:
        return (
            session.cancelled_at is None
            and session.starts_at > now
            and may_manage(person, session, self.settings)
        )

    async def _manage_tap(self, turn: _Turn, action: str, session_id: int) -> Outcome:
        """s|m|<id> move, s|x|<id> cancel?, s|xy|<id> cancel!, s|xn|<id> keep."""
        person = turn.person
        session = await turn.repo.sessions.session_by_id(session_id)
        if person is None or session is None:
            return self._stale(turn)
        if not may_manage(person, session, self.settings):
            return self._notice(turn, "champions/champions_only")
        if not self._changeable(person, session, turn.now):
            return self._notice(turn, "champions/session_unavailable")
        context = self.compose.session_context(await self._view(turn, session), turn.lang)
        if action == "m" and turn.position is not None:
            return await self.dialogues.begin(
                turn.dialogue_turn(), turn.position, scheduling.MOVE, session=session.id
            )
        if action == "x":
            buttons = (
                (
                    Button(
                        self._text_of(turn.lang, "champions/button_cancel_yes"),
                        callbacks.encode(SessionTap("xy", session.id)),
                    ),
                ),
                (
                    Button(
                        self._text_of(turn.lang, "champions/button_cancel_no"),
                        callbacks.encode(SessionTap("xn", session.id)),
                    ),
                ),
            )
            return self._msg(turn, "champions/cancel_confirm", buttons, session=context)
        if action == "xy":
            await cancel_session(turn.repo, session, turn.now, cancelled_by=person.id)
            return Outcome(
                edit=Edit(self._text_of(turn.lang, "champions/cancelled", session=context)), changed=True
            )
        if action == "xn":
            return Outcome(edit=Edit(self._text_of(turn.lang, "champions/cancel_kept", session=context)))
        return self._stale(turn)

    # -- follow-ups and nudge taps ---------------------------------------------------------------------

    async def _followup_tap(self, turn: _Turn, session_id: int) -> Outcome:
        person = turn.person
        session = await turn.repo.sessions.session_by_id(session_id)
        if person is None or session is None or session.cancelled_at is not None:
            return self._stale(turn)
        if person.id not in session.champion_ids and not is_admin(person, self.settings):
            return self._notice(turn, "champions/champions_only")
        if session.starts_at > turn.now:
            return self._notice(turn, "champions/not_held_yet")
        if turn.position is None:
            return self._stale(turn)
        asks = "yes" if session.kind == SessionKind.INSPIRATION else "no"
        return await self.dialogues.begin(
            turn.dialogue_turn(), turn.position, scheduling.FOLLOWUP, session=session.id, asks_workshop=asks
        )

    async def _reminders_tap(self, turn: _Turn, wanted: bool) -> Outcome:
        person = turn.person
        if person is None or not person.consent:
            return self._notice(turn, "champions/needs_start")
        await turn.repo.people.set_session_reminders(person.id, wanted)
        if wanted:
            await plan_reminders_for(turn.repo, person.id, person.department_id, self.settings, turn.now)
            return self._msg(turn, "champions/reminders_on", hours=self.settings.reminder_hours)
        await turn.repo.nudges.cancel_pending(
            reason="reminders off", person_id=person.id, kinds=[NudgeKind.REMINDER]
        )
        return self._msg(turn, "champions/reminders_off")

    async def _recheck_off_tap(self, turn: _Turn) -> Outcome:
        person = turn.person
        if person is None:
            return self._stale(turn)
        await turn.repo.people.set_recheck_opt_out(person.id, True)
        await turn.repo.nudges.cancel_pending(
            reason="opted out", person_id=person.id, kinds=[NudgeKind.RECHECK]
        )
        outcome = self._msg(turn, "champions/recheck_off")
        return dataclasses.replace(outcome, edit=Edit(None, ()), changed=True)

    async def _tap(self, turn: _Turn, data: str) -> Outcome:
        tap = callbacks.decode(data)
        if isinstance(tap, SessionTap) and tap.action in ("m", "x", "xy", "xn"):
            return await self._manage_tap(turn, tap.action, tap.session_id)
        if isinstance(tap, RevokeTap):
            return await self._revoke_tap(turn, tap.person_id)
        if isinstance(tap, FollowupTap):
            return await self._followup_tap(turn, tap.session_id)
        if isinstance(tap, RemindersTap):
            return await self._reminders_tap(turn, tap.on)
        if tap == RecheckTap(start=False):
            return await self._recheck_off_tap(turn)
        return self._stale(turn)
