"""The champions' desk: what admins and champions do in the chat, as Outcomes (like the coach).

Invites and roles (admins), scheduling, moving and cancelling sessions (admins, and champions for
their own), follow-up reports, and the taps on nudges (reminders on or off, re-check offers). Every
event runs in one transaction that claims the Telegram update id and locks the person's row, so a
redelivered update does nothing twice and a restart mid-dialogue picks up the stored draft.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot import callbacks
from bot.callbacks import DraftTap, FollowupTap, RecheckTap, RemindersTap, RevokeTap, SessionTap
from bot.champions import scheduling as flow
from bot.champions.clock import SYSTEM_CLOCK, Clock
from bot.champions.compose import Composer, SessionView, holder_label, language_of, session_view
from bot.champions.nudges import plan_reminders_for
from bot.champions.sessions import (
    cancel_session,
    is_admin,
    is_for,
    may_manage,
    may_schedule,
    move_session,
    schedule_session,
    step_down,
    visible_sessions,
)
from bot.coach import Coach
from bot.content.dates import spoken
from bot.conversation import Button, Command, Edit, Message, Outcome, Visitor
from bot.domain import InspirationSession, NudgeKind, Person, Role, SessionDraft, SessionKind
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
_SELECTED, _UNSELECTED = "✅ ", "▫️ "
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


class ChampionDesk:
    """Answers champion and admin events; holds only shared, read-only things between them."""

    def __init__(
        self, database: Database, coach: Coach, settings: Settings, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.database = database
        self.coach = coach
        self.settings = settings
        self.clock = clock
        self.compose = Composer(coach.catalog, settings)

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
        return await self._run(visitor, update_id, actions[name])

    async def tap(self, visitor: Visitor, data: str, *, update_id: int | None = None) -> Outcome:
        """A press on one of the desk's buttons (sessions, roles, nudges)."""
        if callbacks.decode(data) == RecheckTap(start=True):
            # The re-check offer hands over to the coach, which claims the update itself.
            outcome = await self.coach.handle(visitor, Command("check"), update_id=update_id)
            return outcome if outcome.duplicate else dataclasses.replace(outcome, edit=Edit(None, ()))
        return await self._run(visitor, update_id, lambda turn: self._tap(turn, data))

    async def text(self, visitor: Visitor, text: str, *, update_id: int | None = None) -> Outcome | None:
        """Typed text while a guided dialogue is open; None (the coach's) when none is."""
        if await self._open_draft(visitor) is None:
            return None
        return await self._run(visitor, update_id, lambda turn: self._text(turn, text))

    async def interrupt(self, visitor: Visitor, name: str, *, update_id: int | None = None) -> Outcome | None:
        """A command while a dialogue is open: /cancel stops it; any other command drops it quietly.

        Returns None when the command should go on to its own handler.
        """
        draft = await self._open_draft(visitor)
        if draft is None:
            return None
        if name != "cancel":
            async with self.database.transaction() as repo:
                await repo.drafts.delete_draft(draft.person_id)
            return None
        return await self._run(visitor, update_id, self._stop_draft)

    # -- plumbing ----------------------------------------------------------------------------------

    def _listed(self, visitor: Visitor) -> bool:
        return (
            visitor.channel == "telegram"
            and visitor.external_id.isdigit()
            and int(visitor.external_id) in self.settings.admin_ids
        )

    async def _run(
        self, visitor: Visitor, update_id: int | None, action: Callable[[_Turn], Awaitable[Outcome]]
    ) -> Outcome:
        async with self.database.transaction() as repo:
            if update_id is not None and not await repo.updates.claim_update(update_id):
                return Outcome(duplicate=True)
            # Configured admins may act before they ever sent /start; everyone else must exist.
            person = await repo.people.person_for_update(
                visitor.channel, visitor.external_id, create=self._listed(visitor)
            )
            lang = language_of(person.language if person else None, visitor.language_hint)
            turn = _Turn(repo, person, lang, self.clock.now())
            outcome = await action(turn)
            return dataclasses.replace(outcome, language=lang)

    async def _open_draft(self, visitor: Visitor) -> SessionDraft | None:
        """The person's draft if one is open and fresh; a stale one is dropped here."""
        async with self.database.transaction(read_only=True) as repo:
            draft = await repo.drafts.draft_for(visitor.channel, visitor.external_id)
        if draft is None:
            return None
        if flow.is_stale(draft, self.clock.now()):
            async with self.database.transaction() as repo:
                await repo.drafts.delete_draft(draft.person_id)
            return None
        return draft

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
        if person is None or not may_schedule(person, self.settings):
            return self._msg(turn, "champions/champions_only")
        runs_it = person.role == Role.CHAMPION and not is_admin(person, self.settings)
        draft = await turn.repo.drafts.save_draft(flow.begin_schedule(person.id, runs_it=runs_it), turn.now)
        return Outcome(messages=(await self._prompt(turn, draft),), changed=True)

    async def _prompt(self, turn: _Turn, draft: SessionDraft) -> Message:
        """The question for the draft's current step, with its buttons."""
        lang, v = turn.lang, draft.version
        if draft.step == flow.KIND:
            buttons = (
                (Button(self._text_of(lang, "champions/button_inspiration"), draft_tap(v, "k", "i")),),
                (Button(self._text_of(lang, "champions/button_workshop"), draft_tap(v, "k", "w")),),
            )
            return self.compose.message(lang, "champions/ask_kind", buttons)
        if draft.step == flow.WHEN:
            example = self._example_time(turn.now)
            if draft.flow == flow.MOVE:
                session = await turn.repo.sessions.session_by_id(int(draft.values["session"]))
                if session is not None:
                    view = await self._view(turn, session)
                    return self.compose.message(
                        lang,
                        "champions/move_ask",
                        session=self.compose.session_context(view, lang),
                        example=example,
                    )
            return self.compose.message(
                lang, "champions/ask_when", example=example, zone=self.settings.timezone
            )
        if draft.step == flow.PLACE:
            return self.compose.message(lang, "champions/ask_place")
        if draft.step == flow.DEPARTMENTS:
            chosen = set(draft.values.get("departments", []))
            rows = [
                (Button(_tick(d.id in chosen) + d.name, draft_tap(v, "d", str(d.id))),)
                for d in await turn.repo.departments.departments()
            ]
            rows.append(
                (Button(self._text_of(lang, "champions/button_whole_org"), draft_tap(v, "d", "all")),)
            )
            rows.append((Button(self._text_of(lang, "champions/button_done"), draft_tap(v, "d", "ok")),))
            return self.compose.message(lang, "champions/ask_departments", tuple(rows))
        if draft.step == flow.CHAMPIONS:
            chosen = set(draft.values.get("champions", []))
            rows = [
                (Button(_tick(pid in chosen) + label, draft_tap(v, "c", str(pid))),)
                for pid, label in await self._candidates(turn)
            ]
            rows.append((Button(self._text_of(lang, "champions/button_done"), draft_tap(v, "c", "ok")),))
            return self.compose.message(lang, "champions/ask_champions", tuple(rows))
        if draft.step == flow.CONFIRM and draft.flow in (flow.SCHEDULE, flow.MOVE):
            buttons = (
                (Button(self._text_of(lang, "champions/button_confirm"), draft_tap(v, "y")),),
                (Button(self._text_of(lang, "champions/button_stop"), draft_tap(v, "n")),),
            )
            return self.compose.message(
                lang, "champions/confirm", buttons, **await self._summary(turn, draft)
            )
        if draft.step == flow.ATTENDED:
            session = await turn.repo.sessions.session_by_id(int(draft.values["session"]))
            context = self.compose.session_context(await self._view(turn, session), lang) if session else {}
            return self.compose.message(lang, "champions/followup_ask_attended", session=context)
        if draft.step == flow.WANTED:
            return self.compose.message(
                lang, "champions/followup_ask_wanted", attended=draft.values.get("attended", 0)
            )
        raise AssertionError(f"no prompt for {draft.flow}/{draft.step}")

    def _example_time(self, now: datetime) -> str:
        local = (now + timedelta(days=7)).astimezone(ZoneInfo(self.settings.timezone))
        return f"{local.day}-{local.month}-{local.year} 14:00"

    async def _gone_since_chosen(self, turn: _Turn, draft: SessionDraft) -> Outcome | None:
        """A department removed, or a champion who used /forget or lost the role, since they were
        chosen: say so and ask that question again (without them), rather than fail on every "Yes"."""
        departments = [int(d) for d in draft.values.get("departments", [])]
        existing = {d.id for d in await turn.repo.departments.departments()}
        champions = [int(p) for p in draft.values.get("champions", [])]
        candidates = {pid for pid, _ in await self._candidates(turn)}
        if any(d not in existing for d in departments):
            values = {**draft.values, "departments": [d for d in departments if d in existing]}
            step, notice = flow.DEPARTMENTS, "champions/department_gone"
        elif any(p not in candidates for p in champions):
            values = {**draft.values, "champions": [p for p in champions if p in candidates]}
            step, notice = flow.CHAMPIONS, "champions/champion_gone"
        else:
            return None
        again = await turn.repo.drafts.save_draft(
            dataclasses.replace(draft, step=step, values=values), turn.now
        )
        return Outcome(
            messages=(self.compose.message(turn.lang, notice), await self._prompt(turn, again)),
            edit=Edit(None, ()),
            changed=True,
        )

    async def _candidates(self, turn: _Turn) -> list[tuple[int, str]]:
        """Who can run a session: champions and admins, and whoever is scheduling."""
        assert turn.person is not None
        holders = [(h.person_id, holder_label(h)) for h in await turn.repo.roles.role_holders()]
        if turn.person.id not in {pid for pid, _ in holders}:
            holders.insert(0, (turn.person.id, self._text_of(turn.lang, "champions/you")))
        return holders

    async def _summary(self, turn: _Turn, draft: SessionDraft) -> dict[str, Any]:
        """What the confirm step reads back: the session as it will be (or as it moves to)."""
        lang = turn.lang
        when = spoken(flow.starts_at(draft), lang, self.settings.timezone)
        if draft.flow == flow.MOVE:
            session = await turn.repo.sessions.session_by_id(int(draft.values["session"]))
            context = self.compose.session_context(await self._view(turn, session), lang) if session else {}
            return {"moving": True, "session": context, "new_when": when}
        names = {d.id: d.name for d in await turn.repo.departments.departments()}
        labels = dict(await self._candidates(turn))
        return {
            "moving": False,
            "session": {
                "kind": draft.values["kind"],
                "when": when,
                "place": draft.values["place"],
                "departments": [names[d] for d in draft.values.get("departments", []) if d in names],
                "champions": [labels.get(p, f"#{p}") for p in draft.values.get("champions", [])],
            },
            "new_when": when,
        }

    async def _text(self, turn: _Turn, text: str) -> Outcome:
        person = turn.person
        draft = await turn.repo.drafts.draft(person.id) if person else None
        if draft is None:
            return self._msg(turn, "champions/stopped_meanwhile")
        if not flow.expects_text(draft):
            hint = self.compose.message(turn.lang, "champions/tap_expected")
            return Outcome(messages=(hint, await self._prompt(turn, draft)))
        after = flow.read_text(draft, text, self.settings.timezone, turn.now)
        if isinstance(after, flow.Problem):
            return self._msg(turn, after.template, **after.context)
        if draft.flow == flow.FOLLOWUP and after.step == flow.CONFIRM:
            return await self._save_followup(turn, after)
        saved = await turn.repo.drafts.save_draft(after, turn.now)
        return Outcome(messages=(await self._prompt(turn, saved),), changed=True)

    async def _stop_draft(self, turn: _Turn) -> Outcome:
        if turn.person is not None:
            await turn.repo.drafts.delete_draft(turn.person.id)
        return self._msg(turn, "champions/schedule_stopped")

    async def _draft_tap(self, turn: _Turn, tap: DraftTap) -> Outcome:  # noqa: C901 (the hand-written draft machine; issue 11 part 1 replaces it with YAML dialogues)
        """s|<version>|<action>[|<argument>] on the open draft; any other version is stale."""
        person = turn.person
        draft = await turn.repo.drafts.draft(person.id) if person else None
        if person is None or draft is None or draft.version != tap.version or flow.is_stale(draft, turn.now):
            return self._stale(turn)
        action, argument = tap.action, tap.argument
        question = await self._prompt(turn, draft)
        if action == "n":
            await turn.repo.drafts.delete_draft(person.id)
            return Outcome(edit=Edit(self._text_of(turn.lang, "champions/schedule_stopped")), changed=True)
        if action == "y" and draft.step == flow.CONFIRM:
            return await self._confirm(turn, draft)
        after: SessionDraft | flow.Problem | None = None
        choice: str | None = None
        if action == "k" and draft.step == flow.KIND and argument in ("i", "w"):
            kind = SessionKind.INSPIRATION if argument == "i" else SessionKind.WORKSHOP
            after = flow.choose_kind(draft, kind)
            choice = self._text_of(
                turn.lang, "champions/button_inspiration" if argument == "i" else "champions/button_workshop"
            )
        elif action == "d" and draft.step == flow.DEPARTMENTS:
            if argument == "all":
                after = flow.whole_organisation(draft)
                choice = self._text_of(turn.lang, "champions/button_whole_org")
            elif argument == "ok":
                after = flow.departments_done(draft)
                names = {d.id: d.name for d in await turn.repo.departments.departments()}
                chosen = [names[d] for d in after.values.get("departments", []) if d in names]
                choice = ", ".join(chosen) or self._text_of(turn.lang, "champions/button_whole_org")
            elif (
                number := callbacks.number(argument)
            ) is not None and await turn.repo.departments.department(number) is not None:
                after = flow.toggle(draft, "departments", number)
        elif action == "c" and draft.step == flow.CHAMPIONS:
            candidates = dict(await self._candidates(turn))
            runs_it = person.role == Role.CHAMPION and not is_admin(person, self.settings)
            fixed = person.id if runs_it else None
            if argument == "ok":
                after = flow.champions_done(draft)
                if not isinstance(after, flow.Problem):
                    choice = ", ".join(candidates.get(p, f"#{p}") for p in after.values["champions"])
            elif (number := callbacks.number(argument)) is not None and number in candidates:
                if fixed is not None and number == fixed:
                    return self._notice(turn, "champions/runs_it_yourself")
                after = flow.toggle(draft, "champions", number, fixed=fixed)
        if after is None:
            return self._stale(turn)
        if isinstance(after, flow.Problem):
            return self._notice(turn, after.template)
        saved = await turn.repo.drafts.save_draft(after, turn.now)
        following = await self._prompt(turn, saved)
        if saved.step == draft.step:  # a toggle: new ticks on the same question
            return Outcome(edit=Edit(None, following.buttons), changed=True)
        answered = self._text_of(
            turn.lang, "champions/answered", question=Markup(question.text), choice=choice or ""
        )
        return Outcome(messages=(following,), edit=Edit(answered), changed=True)

    async def _confirm(self, turn: _Turn, draft: SessionDraft) -> Outcome:
        person = turn.person
        assert person is not None
        starts_at = flow.starts_at(draft)
        if starts_at <= turn.now:
            # Confirmed too late: the time has passed meanwhile. Ask again rather than plan the past.
            again = await turn.repo.drafts.save_draft(dataclasses.replace(draft, step=flow.WHEN), turn.now)
            return Outcome(
                messages=(
                    self.compose.message(turn.lang, "champions/when_past"),
                    await self._prompt(turn, again),
                ),
                edit=Edit(None, ()),
                changed=True,
            )
        if draft.flow == flow.MOVE:
            session = await turn.repo.sessions.session_by_id(int(draft.values["session"]))
            await turn.repo.drafts.delete_draft(person.id)
            if session is None or not self._changeable(person, session, turn.now):
                return Outcome(
                    edit=Edit(self._text_of(turn.lang, "champions/session_unavailable")), changed=True
                )
            moved = await move_session(
                turn.repo, session, starts_at, self.settings, turn.now, moved_by=person.id
            )
            context = self.compose.session_context(await self._view(turn, moved), turn.lang)
            return Outcome(
                edit=Edit(self._text_of(turn.lang, "champions/moved", session=context)), changed=True
            )
        if not may_schedule(person, self.settings):
            await turn.repo.drafts.delete_draft(person.id)
            return Outcome(edit=Edit(self._text_of(turn.lang, "champions/champions_only")), changed=True)
        gone = await self._gone_since_chosen(turn, draft)
        if gone is not None:
            return gone
        session = await schedule_session(
            turn.repo,
            kind=SessionKind(draft.values["kind"]),
            starts_at=starts_at,
            place=str(draft.values["place"]),
            department_ids=[int(d) for d in draft.values.get("departments", [])],
            champion_ids=[int(p) for p in draft.values.get("champions", [])],
            created_by=person.id,
            settings=self.settings,
            now=turn.now,
        )
        await turn.repo.drafts.delete_draft(person.id)
        context = self.compose.session_context(await self._view(turn, session), turn.lang)
        return Outcome(
            edit=Edit(
                self._text_of(
                    turn.lang,
                    "champions/scheduled",
                    session=context,
                    brief_hours=sorted(set(self.settings.brief_hours), reverse=True),
                    followup_hours=self.settings.followup_hours,
                )
            ),
            changed=True,
        )

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
        if action == "m":
            draft = await turn.repo.drafts.save_draft(flow.begin_move(person.id, session.id), turn.now)
            return Outcome(messages=(await self._prompt(turn, draft),), changed=True)
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
        asks = session.kind == SessionKind.INSPIRATION
        draft = await turn.repo.drafts.save_draft(
            flow.begin_followup(person.id, session.id, asks_workshop=asks), turn.now
        )
        return Outcome(messages=(await self._prompt(turn, draft),), changed=True)

    async def _save_followup(self, turn: _Turn, draft: SessionDraft) -> Outcome:
        assert turn.person is not None
        session_id = int(draft.values["session"])
        attended = int(draft.values["attended"])
        wanted = draft.values.get("want_workshop")
        await turn.repo.sessions.record_followup(
            session_id, attended, None if wanted is None else int(wanted)
        )
        await turn.repo.drafts.delete_draft(turn.person.id)
        return self._msg(turn, "champions/followup_saved", attended=attended, want_workshop=wanted)

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
        if isinstance(tap, DraftTap):
            return await self._draft_tap(turn, tap)
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


def _tick(selected: bool) -> str:
    return _SELECTED if selected else _UNSELECTED


def draft_tap(version: int, action: str, argument: str = "-") -> str:
    """A dialogue button's data, for the draft at `version`."""
    return callbacks.encode(DraftTap(version, action, argument))
