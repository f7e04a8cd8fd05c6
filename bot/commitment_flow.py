"""After the advice: a commitment, its follow-up a week later, what worked or what held the person
back, and a success shared only when the person says yes.

The coach calls this for the commitment buttons and for the end of the two small dialogues
(dialogues/commitment_*.yaml); the dispatcher calls it for the follow-up's text. Storage through
the caller's unit of work, texts from knowledge/templates/*/coach/commitment_*; no Telegram here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.coaching.assessment import reading_of
from bot.coaching.ranking import ranked_steps
from bot.coaching.rules import CoachingRules
from bot.coaching.steps import AdviceStep
from bot.commitment_taps import (
    COMMIT,
    DONE,
    NO,
    NOT_DONE,
    NOT_NOW,
    OUTCOME,
    OUTCOMES,
    PARTLY,
    SHARE,
    STOP,
    YES,
    CommitmentTap,
)
from bot.content.catalog import Catalog
from bot.conversation import Button, Edit, Message, Outcome
from bot.domain import AnswerRecord, Commitment, CommitmentOutcome, Person
from bot.nudging.policy import QuietHours
from bot.settings import Settings
from bot.storage.unit_of_work import UnitOfWork
from bot.understanding import understand

WORKED_DIALOGUE = "commitment_worked"
HELD_BACK_DIALOGUE = "commitment_held_back"
WORKED_STEP, HELD_BACK_STEP = "worked", "held_back"
#: What a typed "what held you back" is stored as when the coach heard none of its topics.
HELD_BACK_OTHER = "other"
_OUTCOME_OF = {
    DONE: CommitmentOutcome.DONE,
    PARTLY: CommitmentOutcome.PARTLY,
    NOT_DONE: CommitmentOutcome.NOT_DONE,
}
#: The follow-up's buttons, and how the coach names an outcome later (re-check, /mydata).
_BUTTON_OF = {
    DONE: "coach/button_outcome_done",
    PARTLY: "coach/button_outcome_partly",
    NOT_DONE: "coach/button_outcome_not_done",
    STOP: "coach/button_outcome_stop",
}
_SAID_OF = {
    None: "coach/outcome_open",
    CommitmentOutcome.DONE: "coach/outcome_done",
    CommitmentOutcome.PARTLY: "coach/outcome_partly",
    CommitmentOutcome.NOT_DONE: "coach/outcome_not_done",
    CommitmentOutcome.REPLACED: "coach/outcome_replaced",
}


@dataclass(frozen=True)
class FlowAnswer:
    """What a commitment tap comes to: an outcome, and maybe a dialogue the coach must begin."""

    outcome: Outcome
    begin: str | None = None


def quiet_hours(settings: Settings) -> QuietHours:
    """The quiet hours as configured; the dispatcher and the follow-up's due time share them."""
    return QuietHours(settings.timezone, settings.quiet_from, settings.quiet_until, settings.quiet_weekends)


class CommitmentFlow:
    """Holds only shared, read-only things; every call gets the turn's unit of work."""

    def __init__(self, catalog: Catalog, rules: CoachingRules, settings: Settings) -> None:
        self.catalog = catalog
        self.rules = rules
        self.settings = settings
        self.quiet = quiet_hours(settings)
        self._steps = {step.id: step for step in rules.steps}

    # -- texts -----------------------------------------------------------------------------------

    def _text(self, lang: str, template: str, **context: Any) -> str:
        return self.catalog.renderer.render(lang, template, **context)

    def step_text(self, step_id: str, lang: str) -> str:
        """The advice step's action; a step removed from the content since reads as its id."""
        step = self._steps.get(step_id)
        return self.catalog.knowledge.get(step.ref).text("text", lang) if step else step_id

    def _step_view(self, step: AdviceStep, lang: str) -> dict[str, str]:
        item = self.catalog.knowledge.get(step.ref)
        return {"id": step.id, "text": item.text("text", lang), "why": item.text("why", lang)}

    def outcome_text(self, commitment: Commitment, lang: str) -> str:
        return self._text(lang, _SAID_OF[commitment.outcome])

    def followup_due(self, made_at: datetime) -> datetime:
        """COACHBOT_COMMITMENT_FOLLOWUP_DAYS later, moved out of quiet hours."""
        return self.quiet.next_allowed(made_at + timedelta(days=self.settings.commitment_followup_days))

    def followup_message(self, lang: str, commitment: Commitment) -> Message:
        """ "Vorige week nam je je voor: … Is het gelukt?" with its four answers."""
        rows = tuple(
            (CommitmentTap(OUTCOME, commitment.id, value).button(self._text(lang, _BUTTON_OF[value])),)
            for value in OUTCOMES
        )
        text = self._text(lang, "coach/commitment_followup", step=self.step_text(commitment.step, lang))
        return Message(text, rows)

    def commit_row(self, lang: str, assessment_id: int, step_id: str) -> tuple[Button, ...]:
        return (
            CommitmentTap(COMMIT, assessment_id, step_id).button(self._text(lang, "coach/button_commit_yes")),
            CommitmentTap(NOT_NOW, assessment_id, step_id).button(
                self._text(lang, "coach/button_commit_not_now")
            ),
        )

    # -- the taps --------------------------------------------------------------------------------

    async def tap(
        self, repo: UnitOfWork, person: Person, lang: str, tap: CommitmentTap, now: datetime
    ) -> FlowAnswer:
        if tap.name == COMMIT:
            return FlowAnswer(await self._commit(repo, person, lang, tap, now))
        if tap.name == NOT_NOW:
            return FlowAnswer(Outcome(notice=self._text(lang, "coach/commitment_not_now"), language=lang))
        if tap.name == SHARE:
            return FlowAnswer(await self._share(repo, person, lang, tap, now))
        return await self._followup_answer(repo, person, lang, tap, now)

    async def _commit(
        self, repo: UnitOfWork, person: Person, lang: str, tap: CommitmentTap, now: datetime
    ) -> Outcome:
        """A yes under a step of the person's latest advice stores the commitment.

        Like the advice's other buttons, those of an earlier check are refused: that advice was
        for answers the person has since changed.
        """
        latest_check = await repo.assessments.assessments(person.id, limit=1)
        if not latest_check or latest_check[0].id != tap.subject:
            return Outcome(notice=self._text(lang, "coach/advice_old"), language=lang)
        if tap.value not in self._steps:
            return Outcome(notice=self._text(lang, "coach/stale"), language=lang)
        latest = await repo.commitments.commitments_of(person.id, limit=1)
        if latest and latest[0].outcome is None and latest[0].step == tap.value:
            return Outcome(notice=self._text(lang, "coach/commitment_already"), language=lang)
        quiet = await repo.commitments.followups_off(person.id)
        due = None if quiet or not person.reachable else self.followup_due(now)
        await repo.commitments.add_commitment(
            person_id=person.id,
            step=tap.value,
            made_at=now,
            followup_due_at=due,
            assessment_id=tap.subject,
            department_id=person.department_id,
        )
        template = "coach/commitment_made_quiet" if quiet else "coach/commitment_made"
        text = self._text(
            lang, template, step=self.step_text(tap.value, lang), days=self.settings.commitment_followup_days
        )
        return Outcome(messages=(Message(text),), language=lang, changed=True)

    async def _followup_answer(
        self, repo: UnitOfWork, person: Person, lang: str, tap: CommitmentTap, now: datetime
    ) -> FlowAnswer:
        commitment = await repo.commitments.commitment(tap.subject)
        if commitment is None or commitment.person_id != person.id:
            return FlowAnswer(Outcome(notice=self._text(lang, "coach/stale"), language=lang))
        question = self.followup_message(lang, commitment).text
        label = self._text(lang, _BUTTON_OF[tap.value])
        answered = Edit(self._text(lang, "coach/answered", question=_Markup(question), choice=label))
        if tap.value == STOP:
            await repo.commitments.set_followups_off(person.id, True)
            message = Message(self._text(lang, "coach/commitment_stopped"))
            return FlowAnswer(Outcome(messages=(message,), edit=answered, language=lang, changed=True))
        if commitment.outcome is not None:
            return FlowAnswer(Outcome(notice=self._text(lang, "coach/commitment_answered"), language=lang))
        await repo.commitments.record_outcome(commitment.id, _OUTCOME_OF[tap.value], now)
        begin = HELD_BACK_DIALOGUE if tap.value == NOT_DONE else WORKED_DIALOGUE
        return FlowAnswer(Outcome(edit=answered, language=lang, changed=True), begin=begin)

    async def _share(
        self, repo: UnitOfWork, person: Person, lang: str, tap: CommitmentTap, now: datetime
    ) -> Outcome:
        commitment = await repo.commitments.commitment(tap.subject)
        if commitment is None or commitment.person_id != person.id:
            return Outcome(notice=self._text(lang, "coach/stale"), language=lang)
        await repo.commitments.set_shared(commitment.id, now if tap.value == YES else None)
        template = "coach/commitment_shared" if tap.value == YES else "coach/commitment_kept"
        return Outcome(edit=Edit(self._text(lang, template)), language=lang, changed=True)

    # -- the end of the two small dialogues ------------------------------------------------------

    async def finished(
        self, repo: UnitOfWork, person: Person, lang: str, dialogue: str, answers: Sequence[AnswerRecord]
    ) -> Message | None:
        """What follows "what worked" (the offer to share) or "what held you back" (a next step)."""
        latest = await repo.commitments.commitments_of(person.id, limit=1)
        if not latest or latest[0].outcome is None:
            return None
        commitment = latest[0]
        if dialogue == WORKED_DIALOGUE:
            return await self._after_worked(repo, commitment, lang, _typed(answers, WORKED_STEP))
        return await self._after_held_back(repo, person, commitment, lang, answers)

    async def _after_worked(
        self, repo: UnitOfWork, commitment: Commitment, lang: str, typed: str | None
    ) -> Message:
        if typed is not None:
            await repo.commitments.set_worked(commitment.id, typed)
        buttons = (
            (
                CommitmentTap(SHARE, commitment.id, YES).button(self._text(lang, "coach/button_share_yes")),
                CommitmentTap(SHARE, commitment.id, NO).button(self._text(lang, "coach/button_share_no")),
            ),
        )
        offer = "coach/commitment_share_offer" if typed is not None else "coach/commitment_share_offer_step"
        return Message(self._text(lang, offer), buttons)

    async def _after_held_back(
        self,
        repo: UnitOfWork,
        person: Person,
        commitment: Commitment,
        lang: str,
        answers: Sequence[AnswerRecord],
    ) -> Message:
        ref = self._held_back_ref(answers, lang)
        if ref is not None:
            await repo.commitments.set_held_back(commitment.id, ref)
        latest = await repo.assessments.assessments(person.id, limit=1)
        reading = reading_of(latest[0], self.rules, self.catalog.dialogues) if latest else None
        if reading is None or latest[0].id is None:
            return Message(self._text(lang, "coach/commitment_no_next_step"))
        kind, _, item = (ref or "").partition(".")
        if kind in ("fears", "causes"):
            # As if the check had named it too: steps' conditions read the answers, ranking the findings.
            facts = dict(reading.answers)
            named = facts.get(kind)
            facts[kind] = [k for k in (named if isinstance(named, list) else []) if k != "none"] + [item]
            fears = reading.fears if kind != "fears" or item in reading.fears else (*reading.fears, item)
            causes = reading.causes if kind != "causes" or item in reading.causes else (*reading.causes, item)
            reading = dataclasses.replace(reading, answers=facts, fears=fears, causes=causes)
        others = [s for s in ranked_steps(reading, self.rules) if s.id != commitment.step]
        addressing = [s for s in others if ref in s.addresses] or [
            # The ranking leaves out steps whose gates are passed; one that answers what held the
            # person back is still worth it, if their role and answers allow it.
            s
            for s in self.rules.steps
            if s.id != commitment.step and ref in s.addresses and s.allowed(reading.standing, reading.facts())
        ]
        choices = addressing or others
        if not choices:
            return Message(self._text(lang, "coach/commitment_no_next_step"))
        step = choices[0]
        heard = (
            self.catalog.knowledge.get(f"{kind}.{item}").text("title", lang)
            if kind in ("fears", "causes")
            else ""
        )
        text = self._text(lang, "coach/commitment_next_step", heard=heard, step=self._step_view(step, lang))
        return Message(text, (self.commit_row(lang, latest[0].id, step.id),))

    def _held_back_ref(self, answers: Sequence[AnswerRecord], lang: str) -> str | None:
        """A tapped option's fear or cause; typed text as the coach hears it; None when skipped."""
        record = next((a for a in answers if a.question == HELD_BACK_STEP), None)
        if record is None:
            return None
        if record.option is not None:
            step = self.catalog.dialogues[HELD_BACK_DIALOGUE].steps[HELD_BACK_STEP]
            option = step.option(record.option)
            return option.flags[0] if option is not None and option.flags else None
        heard = understand(record.text or "", lang)
        found = [
            t for t in heard.ids if t.startswith(("fears.", "causes.")) and t in self.catalog.knowledge.items
        ]
        return found[0] if found else HELD_BACK_OTHER

    # -- what the coach shows elsewhere ----------------------------------------------------------

    async def recap(self, repo: UnitOfWork, person: Person, lang: str) -> Message | None:
        """A re-check opens with the outcome of the last commitment."""
        latest = await repo.commitments.commitments_of(person.id, limit=1)
        if not latest:
            return None
        commitment = latest[0]
        text = self._text(
            lang,
            "coach/commitment_recap",
            step=self.step_text(commitment.step, lang),
            outcome=self.outcome_text(commitment, lang),
        )
        return Message(text)


def _typed(answers: Sequence[AnswerRecord], step: str) -> str | None:
    record = next((a for a in answers if a.question == step), None)
    return None if record is None else record.text


class _Markup(str):
    """Already-rendered HTML that must not be escaped a second time."""

    def __html__(self) -> str:
        return str(self)
