"""The champions' guided dialogues (scheduling, moving, a follow-up) on the coach's one engine.

The steps are data (dialogues/session_*.yaml) and the person's place is their position, in the
same store and under the same version as the check: a restart resumes it, and a button of an
earlier question (or of the other dialogue) is stale. These dialogues are asides: begun in the
middle of the check, they keep it and hand it back when they end or are stopped.

What the engine cannot know lives here: the departments and champions to choose from, reading a
local date and time, the context each question is rendered with, and the finish actions that plan,
move or report a session. The coach hands this module every event on these dialogues inside its
own transaction (Coach.add_aside), so an update costs one transaction, as the check's do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.champions.clock import Clock
from bot.champions.compose import Composer, SessionView, holder_label, session_view
from bot.champions.sessions import is_admin, may_manage, may_schedule, move_session, schedule_session
from bot.champions.times import TimeProblem, read_local_time
from bot.coach import Coach, choice_buttons
from bot.content.dates import spoken
from bot.conversation import Button, Command, Edit, Inbound, Message, Outcome, Start, Tap, Text
from bot.domain import InspirationSession, Person, Position, Role, SessionKind
from bot.engine.choice_token import ChoiceToken
from bot.engine.engine import DynamicOptions, Parsers
from bot.engine.events import Begin, Choose, OptionView, Prompt, Refusal, Reply, Say, TurnResult
from bot.storage.unit_of_work import UnitOfWork

SCHEDULE, MOVE, FOLLOWUP = "session_schedule", "session_move", "session_followup"
DIALOGUES = frozenset({SCHEDULE, MOVE, FOLLOWUP})
WHEN, DEPARTMENTS, CHAMPIONS = "session_when", "session_departments", "session_champions"
MOVE_WHEN, ATTENDED = "move_when", "followup_attended"
#: The answers' and given values' keys in a finished dialogue's values.
ANSWERS, GIVEN = "answers", "given"
#: When a dialogue was last moved on, by the desk's clock: one left alone this long is dropped,
#: so a forgotten /schedule does not swallow later text (the check has no such limit).
TOUCHED = "touched"
IDLE_LIMIT = timedelta(hours=1)

Buttons = tuple[tuple[Button, ...], ...]


@dataclass
class Turn:
    """One event on a champions' dialogue: its unit of work, who, in what language, when."""

    repo: UnitOfWork
    person: Person
    lang: str
    now: datetime


class SessionDialogues:
    """Runs the session dialogues for anyone; holds only shared, read-only things between turns."""

    dialogues = DIALOGUES

    def __init__(self, coach: Coach, compose: Composer, clock: Clock) -> None:
        self.coach = coach
        self.engine = coach.catalog.engine
        self.settings = coach.settings
        self.compose = compose
        self.clock = clock

    # -- beginning (from the desk, in its transaction) ----------------------------------------------

    async def begin(self, turn: Turn, position: Position, dialogue: str, **given: object) -> Outcome:
        """Start a dialogue where the person stands; the position it interrupts waits inside it."""
        dynamic = await self._dynamic(turn, dialogue)
        result = self.engine.turn(position, Begin(dialogue, given), dynamic=dynamic)
        saved = await self._save(turn, result.position)
        return Outcome(messages=await self._messages(turn, saved, result.replies), changed=True)

    async def drop(self, repo: UnitOfWork, position: Position) -> Position:
        """Leave a session dialogue quietly (another command came): back to where the person was."""
        if position.dialogue not in DIALOGUES or self.engine.current_step(position) is None:
            return position
        return await repo.positions.save_position(self.engine.stop(position).position)

    # -- the coach's hand-over (Coach.add_aside) -----------------------------------------------------

    async def turn(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str, inbound: Inbound
    ) -> Outcome | Position:
        """An event while the person is in a session dialogue. /cancel stops it; any other command
        leaves it quietly and goes on to the coach (the returned position); so do buttons other
        than answer buttons (language, /forget's)."""
        turn = Turn(repo, person, lang, self.clock.now())
        if self.engine.current_step(position) is None:
            return position
        if _forgotten(position, turn.now):
            left = await self.drop(repo, position)
            token = ChoiceToken.decode(inbound.data) if isinstance(inbound, Tap) else None
            return self._notice(turn, "coach/stale") if token is not None else left
        if isinstance(inbound, Command) and inbound.name == "cancel":
            return await self._cancel(turn, position)
        if isinstance(inbound, Start | Command):
            return await self.drop(repo, position)
        if isinstance(inbound, Tap):
            token = ChoiceToken.decode(inbound.data)
            if token is None:
                return position
            return await self._choose(turn, position, Choose(token.version, token.step, token.option))
        if isinstance(inbound, Text):
            return await self._say(turn, position, inbound.text)
        return position

    async def question(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str
    ) -> Message | None:
        """The current question again (a redelivered update, a language change)."""
        turn = Turn(repo, person, lang, self.clock.now())
        prompt = self.engine.prompt_for(position, await self._dynamic(turn, position.dialogue))
        return None if prompt is None else await self._prompt_message(turn, position, prompt)

    async def _save(self, turn: Turn, position: Position) -> Position:
        """Store the position; in a session dialogue, stamped with when it moved on."""
        if position.dialogue in DIALOGUES and self.engine.current_step(position) is not None:
            position = dataclasses.replace(
                position, values={**position.values, TOUCHED: turn.now.isoformat()}
            )
        return await turn.repo.positions.save_position(position)

    # -- events ----------------------------------------------------------------------------------------

    async def _cancel(self, turn: Turn, position: Position) -> Outcome:
        result = self.engine.stop(position, await self._dynamic(turn, position.dialogue))
        saved = await self._save(turn, result.position)
        stopped = self.compose.message(turn.lang, "champions/schedule_stopped")
        resumed = await self._messages(turn, saved, result.replies)
        return Outcome(messages=(stopped, *resumed), changed=True)

    async def _choose(self, turn: Turn, position: Position, choose: Choose) -> Outcome:
        dynamic = await self._dynamic(turn, position.dialogue)
        question = self.engine.prompt_for(position, dynamic)
        result = self.engine.turn(position, choose, dynamic=dynamic)
        if result.problem is not None or question is None:
            return self._notice(turn, _PROBLEM_NOTICES.get(result.problem or "", "coach/stale"))
        if result.stopped:
            saved = await self._save(turn, result.position)
            messages = await self._messages(turn, saved, result.replies)
            edit = Edit(self.compose.text(turn.lang, "champions/schedule_stopped"))
            return Outcome(messages=messages, edit=edit, changed=True)
        if result.finished:
            return await self._finish(turn, position, result, dynamic)
        saved = await self._save(turn, result.position)
        if result.toggled:
            prompt = result.replies[0]
            assert isinstance(prompt, Prompt)
            return Outcome(edit=Edit(None, self._buttons(turn.lang, saved.version, prompt)), changed=True)
        asked = await self._prompt_message(turn, position, question)
        answered = self.compose.text(
            turn.lang,
            "champions/answered",
            question=Markup(asked.text),
            choice=_chosen_labels(question, result.chosen, turn.lang),
        )
        messages = await self._messages(turn, saved, result.replies)
        return Outcome(messages=messages, edit=Edit(answered), changed=True)

    async def _say(self, turn: Turn, position: Position, text: str) -> Outcome:
        dynamic = await self._dynamic(turn, position.dialogue)
        parsers: Parsers = {"local_time": lambda typed: self._read_time(typed, turn.now)}
        result = self.engine.turn(position, Say(text), dynamic=dynamic, parsers=parsers)
        if result.problem == "invalid_value" and result.refusal is not None:
            said = self.compose.text(turn.lang, result.refusal.template, **dict(result.refusal.context))
            return Outcome(messages=(Message(said),))
        if result.problem is not None:
            # A tap is expected here: say so, and show the question again with its buttons.
            prompt = self.engine.prompt_for(position, dynamic)
            hint = self.compose.message(turn.lang, "champions/tap_expected")
            again = () if prompt is None else (await self._prompt_message(turn, position, prompt),)
            return Outcome(messages=(hint, *again))
        if result.finished:
            return await self._finish(turn, position, result, dynamic)
        saved = await self._save(turn, result.position)
        return Outcome(messages=await self._messages(turn, saved, result.replies), changed=True)

    def _read_time(self, text: str, now: datetime) -> object:
        moment = read_local_time(text, self.settings.timezone, now)
        return Refusal(moment.template) if isinstance(moment, TimeProblem) else moment.isoformat()

    # -- finish actions --------------------------------------------------------------------------------

    async def _finish(
        self, turn: Turn, before: Position, result: TurnResult, dynamic: DynamicOptions
    ) -> Outcome:
        """Plan, move or report; or, when an answer no longer holds, that question again."""
        finished = result.finished[-1]
        if finished == SCHEDULE:
            return await self._schedule(turn, before, result, dynamic)
        if finished == MOVE:
            return await self._move(turn, before, result)
        return await self._followup(turn, result)

    async def _schedule(
        self, turn: Turn, before: Position, result: TurnResult, dynamic: DynamicOptions
    ) -> Outcome:
        answers = result.done_values.get(ANSWERS, {})
        starts_at = datetime.fromisoformat(str(answers[WHEN]))
        if starts_at <= turn.now:
            return await self._again(turn, before, WHEN, "champions/when_past", (), dynamic)
        if not may_schedule(turn.person, self.settings):
            return await self._closed(turn, result, "champions/champions_only")
        departments = [k for k in answers.get(DEPARTMENTS, []) if k != "all"]
        champions = list(answers.get(CHAMPIONS, []))
        offered = {o.key for o in dynamic.get("departments", ())}
        if any(d not in offered for d in departments):
            kept = [d for d in departments if d in offered]
            return await self._again(turn, before, DEPARTMENTS, "champions/department_gone", kept, dynamic)
        candidates = {o.key for o in dynamic.get("champions", ())}
        if any(p not in candidates for p in champions):
            kept = [p for p in champions if p in candidates]
            return await self._again(turn, before, CHAMPIONS, "champions/champion_gone", kept, dynamic)
        session = await schedule_session(
            turn.repo,
            kind=SessionKind.INSPIRATION
            if answers["session_kind"] == "inspiration"
            else SessionKind.WORKSHOP,
            starts_at=starts_at,
            place=str(answers["session_place"]),
            department_ids=[int(d[1:]) for d in departments],
            champion_ids=[int(p[1:]) for p in champions],
            created_by=turn.person.id,
            settings=self.settings,
            now=turn.now,
        )
        context = self.compose.session_context(await self._view(turn, session), turn.lang)
        text = self.compose.text(
            turn.lang,
            "champions/scheduled",
            session=context,
            brief_hours=sorted(set(self.settings.brief_hours), reverse=True),
            followup_hours=self.settings.followup_hours,
        )
        return await self._closed(turn, result, text=text)

    async def _move(self, turn: Turn, before: Position, result: TurnResult) -> Outcome:
        starts_at = datetime.fromisoformat(str(result.done_values.get(ANSWERS, {})[MOVE_WHEN]))
        if starts_at <= turn.now:
            return await self._again(turn, before, MOVE_WHEN, "champions/when_past", (), {})
        session = await self._session(turn, result.done_values)
        if session is None or not self._changeable(turn.person, session, turn.now):
            return await self._closed(turn, result, "champions/session_unavailable")
        moved = await move_session(
            turn.repo, session, starts_at, self.settings, turn.now, moved_by=turn.person.id
        )
        context = self.compose.session_context(await self._view(turn, moved), turn.lang)
        return await self._closed(
            turn, result, text=self.compose.text(turn.lang, "champions/moved", session=context)
        )

    async def _followup(self, turn: Turn, result: TurnResult) -> Outcome:
        answers = result.done_values.get(ANSWERS, {})
        attended = int(answers[ATTENDED])
        wanted = answers.get("followup_wanted")
        session_id = int(result.done_values.get(GIVEN, {})["session"])
        await turn.repo.sessions.record_followup(
            session_id, attended, None if wanted is None else int(wanted)
        )
        saved = await self._save(turn, result.position)
        said = self.compose.message(
            turn.lang, "champions/followup_saved", attended=attended, want_workshop=wanted
        )
        return Outcome(messages=(said, *await self._messages(turn, saved, result.replies)), changed=True)

    async def _again(
        self,
        turn: Turn,
        before: Position,
        step: str,
        notice: str,
        selected: tuple[str, ...] | list[str],
        dynamic: DynamicOptions,
    ) -> Outcome:
        """Confirmed, but something changed since: say what, and ask that question again."""
        result = self.engine.revisit(before, step, selected=selected, dynamic=dynamic)
        saved = await self._save(turn, result.position)
        said = self.compose.message(turn.lang, notice)
        asked = await self._messages(turn, saved, result.replies)
        return Outcome(messages=(said, *asked), edit=Edit(None, ()), changed=True)

    async def _closed(
        self, turn: Turn, result: TurnResult, template: str | None = None, *, text: str = ""
    ) -> Outcome:
        """The dialogue is over: the summary's message says how, and the check (if any) goes on."""
        saved = await self._save(turn, result.position)
        messages = await self._messages(turn, saved, result.replies)
        said = self.compose.text(turn.lang, template) if template else text
        return Outcome(messages=messages, edit=Edit(said), changed=True)

    # -- what the engine is given -------------------------------------------------------------------

    async def _dynamic(self, turn: Turn, dialogue: str) -> DynamicOptions:
        """The departments and champions to choose from; only scheduling offers them."""
        if dialogue != SCHEDULE:
            return {}
        departments = [
            OptionView(f"d{d.id}", {"nl": d.name, "en": d.name})
            for d in await turn.repo.departments.departments()
        ]
        runs_it = turn.person.role == Role.CHAMPION and not is_admin(turn.person, self.settings)
        champions = [
            OptionView(f"p{pid}", {"nl": label, "en": label}, locked=runs_it and pid == turn.person.id)
            for pid, label in await self._candidates(turn)
        ]
        return {"departments": departments, "champions": champions}

    async def _candidates(self, turn: Turn) -> list[tuple[int, str]]:
        """Who can run a session: champions and admins, and whoever is scheduling."""
        holders = [(h.person_id, holder_label(h)) for h in await turn.repo.roles.role_holders()]
        if turn.person.id not in {pid for pid, _ in holders}:
            holders.insert(0, (turn.person.id, self.compose.text(turn.lang, "champions/you")))
        return holders

    # -- rendering ---------------------------------------------------------------------------------------

    async def _messages(self, turn: Turn, saved: Position, replies: tuple[Reply, ...]) -> tuple[Message, ...]:
        """The engine's replies as messages: a session question, or the check's question it resumed."""
        messages: list[Message] = []
        for reply in replies:
            if not isinstance(reply, Prompt):
                continue
            if reply.dialogue in DIALOGUES:
                messages.append(await self._prompt_message(turn, saved, reply))
            else:
                messages.append(self.coach.prompt_message(turn.lang, saved, reply))
        return tuple(messages)

    async def _prompt_message(self, turn: Turn, position: Position, prompt: Prompt) -> Message:
        context = await self._context(turn, position, prompt.template)
        return self.compose.message(
            turn.lang, prompt.template, self._buttons(turn.lang, position.version, prompt), **context
        )

    def _buttons(self, lang: str, version: int, prompt: Prompt) -> Buttons:
        return choice_buttons(prompt, lang, version, self.compose.text(lang, "champions/button_done"))

    async def _context(self, turn: Turn, position: Position, template: str) -> dict[str, Any]:
        """What each question's template shows besides its buttons."""
        values: Mapping[str, Any] = position.values
        if template == "champions/ask_when":
            return {"example": self._example_time(turn.now), "zone": self.settings.timezone}
        if template == "champions/move_ask":
            session = await self._session(turn, values)
            view = self.compose.session_context(await self._view(turn, session), turn.lang) if session else {}
            return {"session": view, "example": self._example_time(turn.now)}
        if template == "champions/followup_ask_attended":
            session = await self._session(turn, values)
            view = self.compose.session_context(await self._view(turn, session), turn.lang) if session else {}
            return {"session": view}
        if template == "champions/followup_ask_wanted":
            return {"attended": values.get(ANSWERS, {}).get(ATTENDED, 0)}
        if template == "champions/confirm":
            return await self._summary(turn, position)
        return {}

    async def _summary(self, turn: Turn, position: Position) -> dict[str, Any]:
        """What the confirm step reads back: the session as it will be (or as it moves to)."""
        answers = position.values.get(ANSWERS, {})
        if position.dialogue == MOVE:
            when = spoken(datetime.fromisoformat(str(answers[MOVE_WHEN])), turn.lang, self.settings.timezone)
            session = await self._session(turn, position.values)
            context = (
                self.compose.session_context(await self._view(turn, session), turn.lang) if session else {}
            )
            return {"moving": True, "session": context, "new_when": when}
        when = spoken(datetime.fromisoformat(str(answers[WHEN])), turn.lang, self.settings.timezone)
        names = {f"d{d.id}": d.name for d in await turn.repo.departments.departments()}
        labels = {f"p{pid}": label for pid, label in await self._candidates(turn)}
        return {
            "moving": False,
            "session": {
                "kind": str(
                    SessionKind.INSPIRATION
                    if answers["session_kind"] == "inspiration"
                    else SessionKind.WORKSHOP
                ),
                "when": when,
                "place": answers["session_place"],
                "departments": [names[d] for d in answers.get(DEPARTMENTS, []) if d in names],
                "champions": [labels.get(p, f"#{p[1:]}") for p in answers.get(CHAMPIONS, [])],
            },
            "new_when": when,
        }

    def _example_time(self, now: datetime) -> str:
        local = (now + timedelta(days=7)).astimezone(ZoneInfo(self.settings.timezone))
        return f"{local.day}-{local.month}-{local.year} 14:00"

    async def _session(self, turn: Turn, values: Mapping[str, Any]) -> InspirationSession | None:
        given = values.get(GIVEN, {})
        return await turn.repo.sessions.session_by_id(int(given["session"])) if "session" in given else None

    async def _view(self, turn: Turn, session: InspirationSession) -> SessionView:
        names = {d.id: d.name for d in await turn.repo.departments.departments()}
        holders = {h.person_id: h for h in await turn.repo.roles.role_holders()}
        return session_view(session, names, holders)

    def _changeable(self, person: Person, session: InspirationSession, now: datetime) -> bool:
        return (
            session.cancelled_at is None
            and session.starts_at > now
            and may_manage(person, session, self.settings)
        )

    def _notice(self, turn: Turn, template: str) -> Outcome:
        return Outcome(notice=self.compose.text(turn.lang, template))


def _forgotten(position: Position, now: datetime) -> bool:
    """Left alone longer than IDLE_LIMIT (a position from before the stamp counts as fresh)."""
    touched = position.values.get(TOUCHED)
    return isinstance(touched, str) and now - datetime.fromisoformat(touched) > IDLE_LIMIT


#: What a refused tap says: a locked champion (who schedules runs it), none ticked, or stale.
_PROBLEM_NOTICES = {"locked": "champions/runs_it_yourself", "pick_one": "champions/pick_champion"}


def _chosen_labels(question: Prompt, chosen: tuple[str, ...], lang: str) -> str:
    """What the answered question shows as chosen; ticking nothing means the option that answers
    at once ("the whole organisation")."""
    labels = {o.key: o.label.get(lang, o.key) for o in question.options}
    submits = [o.key for o in question.options if o.submit]
    return ", ".join(labels.get(k, k) for k in (chosen or submits[:1]))
