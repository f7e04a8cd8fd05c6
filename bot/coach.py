"""The coach: one inbound event for one person in, an Outcome out, state written first.

Every turn runs in one transaction: the person's row is locked, the engine moves their position,
answers and any assessment are written, and only after the commit does the channel reply. A
concurrent writer (StaleVersion) makes the whole turn run again on fresh state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from bot import callbacks, commands
from bot.advice_messages import NAMES as ADVICE_NAMES
from bot.advice_messages import AdviceMessages
from bot.callbacks import AdviceTap, ForgetTap, LanguageTap
from bot.coaching.assessment import PHASE_MODELS, all_steps, assess
from bot.coaching.rules import rules_of
from bot.commitment_flow import HELD_BACK_DIALOGUE, WORKED_DIALOGUE, CommitmentFlow
from bot.commitment_taps import CommitmentTap
from bot.content.catalog import Catalog
from bot.content.dates import short_date
from bot.conversation import (
    Button,
    Command,
    Edit,
    Inbound,
    Message,
    Outcome,
    Start,
    Tap,
    Text,
    Visitor,
    ticked,
)
from bot.domain import Assessment, Person, Position, Role, Standing
from bot.engine.choice_token import ChoiceToken
from bot.engine.engine import HEARD_KEY, DynamicOptions, idle_position
from bot.engine.events import DONE, MAX_TEXT, Begin, Choose, Notice, OptionView, Prompt, Say, TurnResult
from bot.engine.spec import END, LANGUAGES, Dialogue
from bot.invites import accept_invite
from bot.settings import Settings
from bot.storage.database import Database
from bot.storage.errors import StaleVersion, StorageUnavailable
from bot.storage.unit_of_work import UnitOfWork
from bot.typed_answers import HEARD_ACTION, TypedAnswers

log = logging.getLogger(__name__)

ONBOARDING = "onboarding"
CHECK = "phase_check"
_RETRIES = 3
_BACKOFF = (0.05, 0.25, 1.0)


def _action(data: str) -> tuple[str, str] | None:
    """(name, value) of the buttons that keep their own `a|<name>|<value>` format outside
    bot.callbacks: the commitments' (bot.commitment_taps) and the one under "Ik hoor" (bot.typed_answers)."""
    parts = data.split("|")
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "a" else None


class Aside(Protocol):
    """Dialogues another part of the bot runs on the coach's engine and position store (the
    champions' scheduling, bot/champions/scheduling.py). The coach hands it every event of a
    person standing in one of them, inside the coach's own transaction: one per update."""

    dialogues: frozenset[str]

    async def turn(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str, inbound: Inbound
    ) -> Outcome | Position:
        """The answer, or the (maybe moved) position for the coach to go on with."""
        ...

    async def question(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str
    ) -> Message | None:
        """The current question again."""
        ...


class Clock(Protocol):
    """Where "now" comes from (bot.champions.clock has the real one and a hand-moved one)."""

    def now(self) -> datetime: ...


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def choice_buttons(prompt: Prompt, lang: str, version: int, done: str) -> tuple[tuple[Button, ...], ...]:
    """The buttons of an engine question, one per row: multi steps tick their options (not those
    that answer at once) and end with `done`. Shared by the coach's and the champions' dialogues."""
    rows: list[tuple[Button, ...]] = []
    for option in prompt.options:
        label = option.label.get(lang) or next(iter(option.label.values()))
        if prompt.kind == "multi" and not option.submit:
            label = ticked(label, option.selected)
        rows.append((Button(label, ChoiceToken(version, prompt.step, option.key).encode()),))
    if prompt.kind == "multi":
        rows.append((Button(done, ChoiceToken(version, prompt.step, DONE).encode()),))
    return tuple(rows)


class Coach:
    """Runs turns for anyone; holds only shared, read-only things between turns."""

    def __init__(
        self, store: Database, catalog: Catalog, settings: Settings, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.settings = settings
        #: Commitments and their follow-ups are timed by it; tests move a hand-set clock.
        self.clock: Clock = clock or _SystemClock()
        self._steps = all_steps(catalog.dialogues)
        self.rules = rules_of(catalog)
        self._advice_messages = AdviceMessages(catalog, self.rules)
        self.typed = TypedAnswers(catalog, commit=self._commit, question=self._prompt_message, facts=_facts)
        self.commitments = CommitmentFlow(catalog, self.rules, settings)
        self._asides: dict[str, Aside] = {}

    def add_aside(self, aside: Aside) -> None:
        """Let `aside` answer for its dialogues (a later one for the same dialogues replaces it)."""
        for dialogue in aside.dialogues:
            self._asides[dialogue] = aside

    # -- entry point ----------------------------------------------------------------------------

    async def handle(self, visitor: Visitor, inbound: Inbound, *, update_id: int | None = None) -> Outcome:
        """Run one event to completion; retried on a concurrent write to the same person.

        With an `update_id`, the claim of that id commits with the turn's effects, and a turn that
        failed leaves the id unclaimed for the retry. A redelivered update changes nothing; it
        brings the person's current question again, because the first delivery may have died
        after its commit and before its reply (a worker killed, a crash before the offset).
        """
        for attempt in range(_RETRIES):
            try:
                async with self.store.transaction() as repo:
                    if update_id is not None and not await repo.updates.claim_update(update_id):
                        return await self._redelivered(repo, visitor)
                    return await self._handle(repo, visitor, inbound)
            except StaleVersion:
                log.info("turn.retry", extra={"attempt": attempt + 1, "reason": "stale"})
            except StorageUnavailable:
                # A locked SQLite file or a blip of the server: wait a little, then try again;
                # the last failure goes up so the channel can say "one moment" or ask for redelivery.
                if attempt == _RETRIES - 1:
                    raise
                log.info("turn.retry", extra={"attempt": attempt + 1, "reason": "storage"})
                await asyncio.sleep(_BACKOFF[attempt])
        lang = _lang_hint(visitor.language_hint)
        return Outcome(messages=(self._msg(lang, "coach/busy"),), language=lang)

    async def say(self, visitor: Visitor, template: str) -> Outcome:
        """A fixed reply (e.g. to a sticker) in the person's language; creates no one."""
        async with self.store.transaction() as repo:
            person = await repo.people.person_for_update(visitor.channel, visitor.external_id, create=False)
        lang = (person.language if person else None) or _lang_hint(visitor.language_hint)
        return Outcome(messages=(self._msg(lang, template),), language=lang)

    async def set_reachable(self, visitor: Visitor, reachable: bool) -> None:
        """Blocked (or unblocked) the bot: nudges must stop (or may resume)."""
        async with self.store.transaction() as repo:
            person = await repo.people.person_for_update(visitor.channel, visitor.external_id, create=False)
            if person is not None and person.reachable != reachable:
                person.reachable = reachable
                await repo.people.save_person(person)

    async def is_admin(self, visitor: Visitor) -> bool:
        """Admins come from COACHBOT_ADMIN_IDS (Telegram ids) or were given the role later."""
        listed = visitor.channel == "telegram" and visitor.external_id.isdigit()
        if listed and int(visitor.external_id) in self.settings.admin_ids:
            return True
        async with self.store.transaction(read_only=True) as repo:
            person = await repo.people.person_for_update(visitor.channel, visitor.external_id, create=False)
        return person is not None and person.role == Role.ADMIN

    def help(self, lang: str, role: Role, channel: str) -> Message:
        """/help: exactly the commands of the table this role may use on this channel."""
        shown = commands.visible(role, channel)
        sections = []
        for section in commands.Section:
            listed = [
                {"name": c.name, "about": self._text_of(lang, c.about)} for c in shown if c.section == section
            ]
            if listed:
                title = commands.SECTION_TITLES[section]
                sections.append({"title": self._text_of(lang, title) if title else "", "commands": listed})
        return self._msg(lang, "coach/help", sections=sections)

    def language_for(self, hint: str | None) -> str:
        """The language to use for someone the coach has not looked up."""
        return _lang_hint(hint)

    async def _handle(self, repo: UnitOfWork, visitor: Visitor, inbound: Inbound) -> Outcome:
        # Only /start creates a person: after declining (or /forget) a stray message or an old
        # button must not bring a row back.
        person, stored = await repo.person_and_position(
            visitor.channel, visitor.external_id, create=isinstance(inbound, Start)
        )
        if person is None:
            return self._stranger(visitor, inbound)
        lang = person.language or _lang_hint(visitor.language_hint)
        position = stored or idle_position(person.id)
        aside = self._asides.get(position.dialogue)
        if aside is not None:
            handled = await aside.turn(repo, person, position, lang, inbound)
            if isinstance(handled, Outcome):
                return replace(handled, language=lang)
            position = handled
        if isinstance(inbound, Start):
            return await self._start(repo, person, position, lang, inbound)
        if isinstance(inbound, Command):
            return await self._command(repo, person, position, lang, inbound)
        if isinstance(inbound, Tap):
            return await self._tap(repo, person, position, lang, inbound)
        return await self._text(repo, person, position, lang, inbound)

    async def _redelivered(self, repo: UnitOfWork, visitor: Visitor) -> Outcome:
        """The current question again (nothing when there is none), marked as a duplicate."""
        person, stored = await repo.person_and_position(visitor.channel, visitor.external_id, create=False)
        if person is None:
            return Outcome(duplicate=True)
        lang = person.language or _lang_hint(visitor.language_hint)
        position = stored or idle_position(person.id)
        aside = self._asides.get(position.dialogue)
        if aside is not None:
            asked = await aside.question(repo, person, position, lang)
            return Outcome(messages=(asked,) if asked else (), language=lang, duplicate=True)
        dynamic = await self._dynamic(repo)
        prompt = self.catalog.engine.prompt_for(position, dynamic)
        if prompt is None:
            return Outcome(duplicate=True, language=lang)
        question = self.typed.pending_message(position, lang) or self._prompt_message(lang, position, prompt)
        return Outcome(messages=(question,), language=lang, duplicate=True)

    def _stranger(self, visitor: Visitor, inbound: Inbound) -> Outcome:
        """Someone the coach keeps nothing about: answer without storing anything."""
        lang = _lang_hint(visitor.language_hint)
        if isinstance(inbound, Tap):
            return Outcome(notice=self._text_of(lang, "coach/stale"), language=lang)
        if isinstance(inbound, Command) and inbound.name == "help":
            return Outcome(messages=(self.help(lang, Role.EMPLOYEE, visitor.channel),), language=lang)
        if isinstance(inbound, Command) and inbound.name == "privacy":
            return Outcome(messages=(self._msg(lang, "coach/privacy"),), language=lang)
        if isinstance(inbound, Command) and inbound.name in ("mydata", "forget"):
            return Outcome(messages=(self._msg(lang, "coach/nothing_stored"),), language=lang)
        return Outcome(messages=(self._msg(lang, "coach/needs_consent"),), language=lang)

    # -- commands -------------------------------------------------------------------------------

    async def _start(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str, start: Start
    ) -> Outcome:
        if start.payload:
            # A deep-link payload is an invite code (champions, admins): say what it did, then go on
            # as /start does. Acceptance runs in this transaction, with the person's row locked.
            answer = await accept_invite(repo, person, start.payload, self.clock.now())
            log.info("start.invite", extra={"answer": str(answer.answer)})
            note = self._msg(lang, answer.template, role=str(answer.role or ""))
            if not person.consent:
                begun = await self._begin(repo, person, position, lang, ONBOARDING)
                return replace(begun, messages=(note, *begun.messages))
            return Outcome(messages=(note,), language=lang, changed=answer.granted)
        if not person.consent:
            return await self._begin(repo, person, position, lang, ONBOARDING)
        prompt = self.catalog.engine.prompt_for(position, await self._dynamic(repo))
        intro = self._msg(lang, "coach/welcome_back", in_check=prompt is not None)
        if prompt is None:
            return Outcome(messages=(intro,), language=lang)
        question = self.typed.pending_message(position, lang) or self._prompt_message(lang, position, prompt)
        return Outcome(messages=(intro, question), language=lang)

    async def _command(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str, command: Command
    ) -> Outcome:
        name = command.name
        if name == "help":
            role = Role.ADMIN if visitor_is_listed_admin(person, self.settings.admin_ids) else person.role
            return Outcome(messages=(self.help(lang, role, person.channel),), language=lang)
        if name == "privacy":
            return Outcome(messages=(self._msg(lang, "coach/privacy"),), language=lang)
        if name == "language":
            buttons = tuple(
                (Button(self._option_label("language", code, code, {}), callbacks.encode(LanguageTap(code))),)
                for code in LANGUAGES
            )
            return Outcome(
                messages=(self._msg(lang, "coach/language_choose", buttons=buttons),), language=lang
            )
        if name == "forget":
            # Asking moves the position on, and so does a "No": only this question's "Yes" erases.
            version = (await repo.positions.save_position(position)).version
            buttons = (
                (
                    Button(
                        self._text_of(lang, "coach/button_forget_yes"),
                        callbacks.encode(ForgetTap(True, version)),
                    ),
                ),
                (
                    Button(
                        self._text_of(lang, "coach/button_forget_no"),
                        callbacks.encode(ForgetTap(False, version)),
                    ),
                ),
            )
            return Outcome(
                messages=(self._msg(lang, "coach/forget_confirm", buttons=buttons),), language=lang
            )
        if name == "mydata":
            return Outcome(messages=(await self._mydata(repo, person, position, lang),), language=lang)
        if not person.consent:
            return Outcome(messages=(self._msg(lang, "coach/needs_consent"),), language=lang)
        if name == "check":
            begun = await self._begin(repo, person, position, lang, CHECK)
            recap = await self.commitments.recap(repo, person, lang)
            return begun if recap is None else replace(begun, messages=(recap, *begun.messages))
        if name == "advice":
            return Outcome(messages=(await self._advice(repo, person, lang),), language=lang)
        if name == "cancel":
            if self.catalog.engine.current_step(position) is None:
                return Outcome(messages=(self._msg(lang, "coach/nothing_to_cancel"),), language=lang)
            values = {k: v for k, v in position.values.items() if k != HEARD_KEY}  # nothing left pending
            await repo.positions.save_position(replace(position, state=END, values=values))
            return Outcome(messages=(self._msg(lang, "coach/cancelled"),), language=lang, changed=True)
        return Outcome(messages=(self._msg(lang, "coach/unknown_command"),), language=lang)

    async def _begin(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str, dialogue: str
    ) -> Outcome:
        dynamic = await self._dynamic(repo)
        result = self.catalog.engine.turn(position, Begin(dialogue), facts=_facts(person), dynamic=dynamic)
        return await self._commit(repo, person, lang, result)

    # -- taps and text --------------------------------------------------------------------------

    async def _tap(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str, tap: Tap
    ) -> Outcome:
        action = callbacks.decode(tap.data)
        if action is not None:
            return await self._action_tap(repo, person, position, lang, action)
        named = _action(tap.data)
        commitment = CommitmentTap.decode(*named) if named else None
        if commitment is not None:
            return await self._commitment_tap(repo, person, position, lang, commitment)
        if named and named[0] == HEARD_ACTION:
            return await self.typed.tap(repo, person, position, lang, named[1], await self._dynamic(repo))
        token = ChoiceToken.decode(tap.data)
        if token is None:
            log.info("tap.malformed")
            return Outcome(notice=self._text_of(lang, "coach/stale"), language=lang)
        dynamic = await self._dynamic(repo)
        before = self.catalog.engine.current_step(position)
        result = self.catalog.engine.turn(
            position, Choose(token.version, token.step, token.option), facts=_facts(person), dynamic=dynamic
        )
        if result.problem is not None:
            notice = "coach/pick_one" if result.problem == "pick_one" else "coach/stale"
            return Outcome(notice=self._text_of(lang, notice), language=lang)
        outcome = await self._commit(repo, person, lang, result)
        new_lang = outcome.language
        assert before is not None  # a choice was accepted, so there was a step
        if result.toggled:
            prompt = result.replies[0]
            assert isinstance(prompt, Prompt)
            edit = Edit(None, self._buttons(new_lang, outcome_version(result), prompt))
            return replace(outcome, messages=(), edit=edit)
        labels = [self._option_label(before.id, key, new_lang, dynamic) for key in result.chosen]
        question = self._render_step(new_lang, position, before.template)
        edit_text = self.catalog.renderer.render(
            new_lang, "coach/answered", question=_Markup(question), choice=", ".join(labels)
        )
        return replace(outcome, edit=Edit(edit_text))

    async def _action_tap(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str, action: callbacks.Callback
    ) -> Outcome:
        if isinstance(action, AdviceTap) and action.name in ADVICE_NAMES:
            return await self._advice_tap(repo, person, lang, action)
        if isinstance(action, ForgetTap) and action.version == position.version:
            if action.erase:
                await repo.forget_person(person.id)
                text = self._text_of(lang, "coach/forgotten")
                return Outcome(edit=Edit(text), language=lang, forgotten=True, changed=True)
            await repo.positions.save_position(position)  # an older "Yes" is stale from now on
            return Outcome(edit=Edit(self._text_of(lang, "coach/forget_kept")), language=lang, changed=True)
        if isinstance(action, LanguageTap) and action.code in LANGUAGES:
            value = action.code
            person.language = value
            await repo.people.save_person(person)
            text = self._text_of(value, "coach/language_set")
            messages: tuple[Message, ...] = ()
            aside = self._asides.get(position.dialogue)
            asked = await aside.question(repo, person, position, value) if aside else None
            prompt = None if aside else self.catalog.engine.prompt_for(position, await self._dynamic(repo))
            if asked is not None:
                messages = (asked,)
            if prompt is not None:
                question = self.typed.pending_message(position, value)
                messages = (question or self._prompt_message(value, position, prompt),)
            return Outcome(messages=messages, edit=Edit(text), language=value, changed=True)
        return Outcome(notice=self._text_of(lang, "coach/stale"), language=lang)

    async def _commitment_tap(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str, tap: CommitmentTap
    ) -> Outcome:
        """Commit to a step, answer its follow-up, share a success; some go on into a dialogue."""
        answer = await self.commitments.tap(repo, person, lang, tap, self.clock.now())
        if answer.begin is None:
            return answer.outcome
        begun = await self._begin(repo, person, position, lang, answer.begin)
        return replace(begun, edit=answer.outcome.edit)

    async def _text(
        self, repo: UnitOfWork, person: Person, position: Position, lang: str, text: Text
    ) -> Outcome:
        dynamic = await self._dynamic(repo)
        typed = await self.typed.text(repo, person, position, lang, text.text, dynamic)
        if typed is not None:  # typed instead of tapped, or heard at an `understand` step
            return typed
        result = self.catalog.engine.turn(position, Say(text.text), facts=_facts(person), dynamic=dynamic)
        if result.problem == "idle":
            key = "coach/idle_hint" if person.consent else "coach/needs_consent"
            return Outcome(messages=(self._msg(lang, key),), language=lang)
        if result.problem in ("empty_text", "text_too_long"):
            key = "coach/empty_text" if result.problem == "empty_text" else "coach/text_too_long"
            return Outcome(messages=(self._msg(lang, key, limit=MAX_TEXT),), language=lang)
        if result.problem is not None:
            prompt = self.catalog.engine.prompt_for(position, dynamic)
            hint = self._text_of(lang, "coach/tap_expected")
            if prompt is None:
                return Outcome(messages=(Message(hint),), language=lang)
            question = self._prompt_message(lang, position, prompt)
            return Outcome(messages=(replace(question, text=f"{hint}\n\n{question.text}"),), language=lang)
        return await self._commit(repo, person, lang, result)

    # -- writing a turn -------------------------------------------------------------------------

    async def _commit(self, repo: UnitOfWork, person: Person, lang: str, result: TurnResult) -> Outcome:
        """Write the turn (profile, position, answers, assessment), then render the replies."""
        profile = result.position.values.get("profile", {})
        if profile.get("consent") == "no":
            # Declining means nothing is kept, not even the onboarding answers given so far.
            lang = profile.get("language", lang)
            await repo.forget_person(person.id)
            notices = [r for r in result.replies if isinstance(r, Notice)]
            goodbye = tuple(self._msg(lang, n.template) for n in notices)
            return Outcome(messages=goodbye, language=lang, forgotten=True, changed=True)
        before = replace(person)
        _apply_profile(person, profile)
        lang = person.language or lang
        if person != before:  # most turns change only the position
            await repo.people.save_person(person)
        saved = await repo.positions.save_position(result.position)
        if result.answers:
            await repo.answers.add_answers(result.answers)
        messages: list[Message] = []
        for reply in result.replies:
            if isinstance(reply, Prompt):
                messages.append(self._prompt_message(lang, saved, reply))
            else:
                messages.append(self._msg(lang, reply.template, **self._common(saved)))
        for finished in result.finished:
            action = self.catalog.dialogues[finished].on_finish
            if action == "assess":
                messages.append(await self._assess(repo, person, saved, lang))
            elif action in (WORKED_DIALOGUE, HELD_BACK_DIALOGUE):
                after = await self.commitments.finished(repo, person, lang, finished, result.answers)
                if after is not None:
                    messages.append(after)
        return Outcome(messages=tuple(messages), language=lang, changed=True)

    async def _assess(self, repo: UnitOfWork, person: Person, position: Position, lang: str) -> Message:
        assessment = assess(
            person.id,
            position.run_id,
            position.values.get("answers", {}),
            self.rules,
            self.catalog.dialogues,
            department_id=person.department_id,
            standing=person.standing,
        )
        previous = await repo.assessments.assessments(person.id, limit=1)
        stored = await repo.assessments.add_assessment(replace(assessment, assessed_at=self.clock.now()))
        return self._advice_messages.first(
            lang, stored, previous[0] if previous else None, self._when(previous, lang)
        )

    async def _advice(self, repo: UnitOfWork, person: Person, lang: str) -> Message:
        latest = await repo.assessments.assessments(person.id, limit=2)
        if not latest:
            return self._msg(lang, "coach/no_advice")
        return self._advice_messages.first(lang, latest[0], _second(latest), self._when(latest[1:], lang))

    async def _advice_tap(self, repo: UnitOfWork, person: Person, lang: str, tap: AdviceTap) -> Outcome:
        """A "more" button under the advice; buttons of an earlier check's advice are refused."""
        latest = await repo.assessments.assessments(person.id, limit=2)
        if not latest or latest[0].id != tap.assessment_id:
            return Outcome(notice=self._text_of(lang, "coach/advice_old"), language=lang)
        message = self._advice_messages.more(
            lang, tap, latest[0], _second(latest), self._when(latest[1:], lang)
        )
        return Outcome(messages=(message,), language=lang)

    def _when(self, previous: Sequence[Assessment], lang: str) -> str:
        """The date of the previous check, as "since your last check" shows it."""
        moment = previous[0].assessed_at if previous else None
        return short_date(moment, lang, self.settings.timezone) if moment else ""

    async def _mydata(self, repo: UnitOfWork, person: Person, position: Position, lang: str) -> Message:
        data = await repo.personal_data(person.id)
        zone = self.settings.timezone
        answers = [
            {
                "when": short_date(a.answered_at, lang, zone) if a.answered_at else "",
                "topic": self._topic(a.question, lang),
                "value": a.text
                if a.text is not None
                else self._option_label(a.question, a.option or "", lang, {}, department=data.department),
            }
            for a in data.answers
        ]
        assessments = [
            {
                "when": short_date(a.assessed_at, lang, zone) if a.assessed_at else "",
                "phases": " / ".join(
                    self.catalog.knowledge.phase(m, p).text("name", lang)
                    for m, p in zip(PHASE_MODELS, (a.phase_presence_model, a.phase_pilot_model), strict=True)
                ),
                "fears": ", ".join(
                    self.catalog.knowledge.get(f"fears.{f}").text("title", lang) for f in a.fears
                ),
                "causes": ", ".join(
                    self.catalog.knowledge.get(f"causes.{c}").text("title", lang) for c in a.causes
                ),
            }
            for a in data.assessments
        ]
        commitments = [
            {
                "when": short_date(c.made_at, lang, zone),
                "step": self.commitments.step_text(c.step, lang),
                "outcome": self.commitments.outcome_text(c, lang),
                "worked": c.worked,
                "shared": c.shared_at is not None,
            }
            for c in data.commitments
        ]
        reminders, recheck_off = await repo.people.preferences(person.id)
        nudges = {
            "reminders": reminders,
            "followups": not await repo.commitments.followups_off(person.id),
            "rechecks": not recheck_off,
        }
        standing = self._option_label("standing", person.standing, lang, {}) if person.standing else "–"
        return self._msg(
            lang,
            "coach/mydata",
            language={"nl": "Nederlands", "en": "English"}.get(person.language or "", "–"),
            standing=standing,
            department=data.department or "–",
            consent="✅" if person.consent else "–",
            answers=answers,
            assessments=assessments,
            heard=self.typed.pending_labels(position, lang),
            commitments=commitments,
            nudges=nudges,
        )

    # -- rendering helpers ----------------------------------------------------------------------

    async def _dynamic(self, repo: UnitOfWork) -> DynamicOptions:
        departments = await repo.departments.departments()
        return {"departments": [OptionView(f"d{d.id}", {"nl": d.name, "en": d.name}) for d in departments]}

    def _common(self, position: Position) -> dict[str, Any]:
        """Variables every question template may use."""
        dialogue = self.catalog.dialogues.get(position.dialogue)
        asked = _main_path(dialogue) if dialogue else []
        index = asked.index(position.state) + 1 if position.state in asked else 0
        return {
            "progress": f"{index}/{len(asked)}" if index else "",
            "min_group": self.settings.min_group,
            "has_departments": True,
        }

    def _render_step(self, lang: str, position: Position, template: str, **extra: Any) -> str:
        context = self._common(position)
        context.update(extra)
        return self.catalog.renderer.render(lang, template, **context)

    def prompt_message(self, lang: str, position: Position, prompt: Prompt) -> Message:
        """A question of the coach's dialogues with its buttons (an aside hands the check back)."""
        return self._prompt_message(lang, position, prompt)

    def _prompt_message(self, lang: str, position: Position, prompt: Prompt) -> Message:
        has_departments = any(o.key.startswith("d") and o.key[1:].isdigit() for o in prompt.options)
        text = self._render_step(lang, position, prompt.template, has_departments=has_departments)
        return Message(text, self._buttons(lang, position.version, prompt), question=True)

    def _buttons(self, lang: str, version: int, prompt: Prompt) -> tuple[tuple[Button, ...], ...]:
        return choice_buttons(prompt, lang, version, self._text_of(lang, "coach/button_done"))

    def _topic(self, step_id: str, lang: str) -> str:
        step = self._steps.get(step_id)
        return step.topic.get(lang, step_id) if step else step_id

    def _option_label(
        self, step_id: str, key: str, lang: str, dynamic: DynamicOptions, department: str | None = None
    ) -> str:
        step = self._steps.get(step_id)
        option = step.option(key) if step else None
        if option is not None:
            return option.label[lang]
        for view in dynamic.get("departments", ()):
            if view.key == key:
                return view.label[lang]
        if step is not None and step.options_from == "departments" and department:
            return department
        return key

    def _text_of(self, lang: str, template: str) -> str:
        return self.catalog.renderer.render(lang, template)

    def _msg(
        self, lang: str, template: str, buttons: Sequence[tuple[Button, ...]] = (), **context: Any
    ) -> Message:
        context.setdefault("min_group", self.settings.min_group)
        return Message(self.catalog.renderer.render(lang, template, **context), tuple(buttons))


class _Markup(str):
    """Already-rendered HTML that must not be escaped a second time."""

    def __html__(self) -> str:
        return str(self)


def outcome_version(result: TurnResult) -> int:
    """The version the stored position has after this turn (save_position adds one)."""
    return result.position.version + 1


def visitor_is_listed_admin(person: Person, admin_ids: tuple[int, ...]) -> bool:
    """Whether a Telegram person is an admin by configuration."""
    return (
        person.channel == "telegram" and person.external_id.isdigit() and int(person.external_id) in admin_ids
    )


def _main_path(dialogue: Dialogue) -> list[str]:
    """The questions everyone is asked, in order: a step reached only under a condition (a
    clarifying question) gets no number, so "4/9" means the same for everyone."""
    path: list[str] = []
    seen: set[str] = set()
    state = dialogue.start
    while state in dialogue.steps and state not in seen:
        seen.add(state)
        step = dialogue.steps[state]
        if step.kind != "info":
            path.append(state)
        state = step.next[-1].target if step.next else END
    return path


def _second(assessments: Sequence[Assessment]) -> Assessment | None:
    return assessments[1] if len(assessments) > 1 else None


def _lang_hint(hint: str | None) -> str:
    """Telegram's language_code is a hint for the very first message, before a choice is made."""
    return "nl" if (hint or "").lower().startswith("nl") else "en"


def _facts(person: Person) -> dict[str, object]:
    return {
        "language": person.language,
        "standing": person.standing,
        "consent": "yes" if person.consent else "no",
        "role": person.role,
    }


def _apply_profile(person: Person, profile: dict[str, Any]) -> None:
    """Copy what onboarding stored into the person's own fields."""
    if profile.get("language") in LANGUAGES:
        person.language = profile["language"]
    if "consent" in profile:
        person.consent = profile["consent"] == "yes"
    if profile.get("standing") in {s.value for s in Standing}:
        person.standing = Standing(profile["standing"])
    department = profile.get("department")
    if isinstance(department, str) and department.startswith("d") and department[1:].isdigit():
        person.department_id = int(department[1:])
    elif department == "none":
        person.department_id = None
