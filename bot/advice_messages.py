"""The advice as messages with buttons: the first one after a check, and one per "more" button.

All advice buttons are made and read here, so their callback format can move in one piece (to
typed callbacks) without touching the coach. A button carries the assessment it belongs to and the
rank of the step on show, so "another step" walks the ranked list and an old message's buttons
are told apart from the latest advice's.
"""

from __future__ import annotations

from bot import callbacks
from bot.callbacks import AdviceTap
from bot.coaching.advice import AdviceViews
from bot.coaching.assessment import Reading, reading_of
from bot.coaching.rules import CoachingRules
from bot.commitment_taps import COMMIT, NOT_NOW, CommitmentTap
from bot.content.catalog import Catalog
from bot.conversation import Button, Message
from bot.domain import Assessment

#: The action prefix the coach routes to the advice (shared with its other `a|name|value` buttons).
WHY, WORRIES, STEP, LENS = "why", "worry", "step", "lens"
NAMES = frozenset({WHY, WORRIES, STEP, LENS})


class AdviceMessages:
    """Renders the advice for one assessment in one language."""

    def __init__(self, catalog: Catalog, rules: CoachingRules) -> None:
        self.catalog = catalog
        self.rules = rules
        self.views = AdviceViews(catalog.knowledge, catalog.dialogues, rules)

    def _render(self, lang: str, template: str, **context: object) -> str:
        return self.catalog.renderer.render(lang, template, **context)

    def _reading(self, assessment: Assessment) -> Reading | None:
        return reading_of(assessment, self.rules, self.catalog.dialogues)

    def buttons(
        self, lang: str, assessment_id: int, reading: Reading, rank: int, shown: str | None = None
    ) -> tuple[tuple[Button, ...], ...]:
        """The "more" buttons, minus the one whose message this is."""

        def button(name: str, template: str, at: int) -> Button:
            label = self._render(lang, template)
            return Button(label, callbacks.encode(AdviceTap(name, assessment_id, at)))

        top = [button(WHY, "coach/button_why", rank)] if shown != WHY else []
        if (reading.fears or reading.causes) and shown != WORRIES:
            top.append(button(WORRIES, "coach/button_worries", rank))
        bottom = [button(STEP, "coach/button_another", rank + 1)]
        if shown != LENS:
            bottom.append(button(LENS, "coach/button_lens", rank))
        return tuple(row for row in (tuple(top), tuple(bottom)) if row)

    def commit_row(self, lang: str, assessment_id: int, step_id: str) -> tuple[Button, ...]:
        """ "Doe je dit deze week?" under a step: yes stores a commitment, "not now" nothing."""
        return (
            CommitmentTap(COMMIT, assessment_id, step_id).button(
                self._render(lang, "coach/button_commit_yes")
            ),
            CommitmentTap(NOT_NOW, assessment_id, step_id).button(
                self._render(lang, "coach/button_commit_not_now")
            ),
        )

    def _with_commit(
        self, lang: str, assessment_id: int, step: object, rows: tuple[tuple[Button, ...], ...]
    ) -> tuple[tuple[Button, ...], ...]:
        if not isinstance(step, dict) or "id" not in step:
            return rows
        return (self.commit_row(lang, assessment_id, str(step["id"])), *rows)

    def first(self, lang: str, current: Assessment, previous: Assessment | None, when: str) -> Message:
        """The message right after a check (and on /advice)."""
        reading = self._reading(current)
        if reading is None or current.id is None:
            return Message(self._render(lang, "coach/advice_outdated"))
        before = self._reading(previous) if previous is not None else None
        change = self.views.change(previous, before, reading, lang, when)
        view = self.views.first(reading, lang, change)
        text = self._render(lang, "coach/advice", **view)
        buttons = self._with_commit(
            lang, current.id, view.get("step"), self.buttons(lang, current.id, reading, 0)
        )
        return Message(text, buttons)

    def more(
        self, lang: str, tap: AdviceTap, current: Assessment, previous: Assessment | None, when: str
    ) -> Message:
        """The message behind one button of the latest advice."""
        reading = self._reading(current)
        if reading is None:
            return Message(self._render(lang, "coach/advice_outdated"))
        rank = tap.rank
        step: object = None
        if tap.name == WHY:
            before = self._reading(previous) if previous is not None else None
            change = self.views.change(previous, before, reading, lang, when)
            text = self._render(lang, "coach/advice_why", **self.views.why(reading, lang, change))
        elif tap.name == WORRIES:
            text = self._render(lang, "coach/advice_worries", **self.views.worries(reading, lang))
        elif tap.name == STEP:
            view = self.views.another(reading, rank, lang)
            rank = int(view["rank"])
            step = view.get("step")
            text = self._render(lang, "coach/advice_step", **view)
        else:
            text = self._render(lang, "coach/advice_lens", **self.views.lens(reading, rank, lang))
        buttons = self.buttons(lang, tap.assessment_id, reading, rank, shown=tap.name)
        return Message(text, self._with_commit(lang, tap.assessment_id, step, buttons))
