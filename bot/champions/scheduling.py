"""The guided dialogues of champions and admins, as a small state machine over a stored draft.

Three flows: scheduling a session (kind → date and time → place → departments → champions →
confirm), moving one (new date and time), and reporting a follow-up (how many came → how many want
the workshop). Each step is a pure function from draft and input to the next draft or a problem;
the desk stores the draft after every step, so a restart in the middle loses nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.champions.times import TimeProblem, read_local_time
from bot.domain import SessionDraft, SessionKind
from bot.storage.models import SESSION_PLACE_MAX

SCHEDULE, MOVE, FOLLOWUP = "schedule", "move", "followup"
KIND, WHEN, PLACE, DEPARTMENTS, CHAMPIONS, CONFIRM = (
    "kind",
    "when",
    "place",
    "departments",
    "champions",
    "confirm",
)
ATTENDED, WANTED = "attended", "wanted"
#: Steps answered by typing; every other step is answered with buttons.
TEXT_STEPS = frozenset({WHEN, PLACE, ATTENDED, WANTED})
#: A draft left alone this long is dropped, so a forgotten one does not swallow later text.
DRAFT_TTL = timedelta(hours=1)
MAX_HEADCOUNT = 100_000


@dataclass(frozen=True)
class Problem:
    """Input the step cannot take; `template` names the reply, the draft stays where it was."""

    template: str
    context: dict[str, Any] = dataclasses.field(default_factory=dict)


def begin_schedule(person_id: int, *, runs_it: bool) -> SessionDraft:
    """A champion schedules sessions they run themselves, so they start on the list."""
    return SessionDraft(
        person_id, SCHEDULE, KIND, {"departments": [], "champions": [person_id] if runs_it else []}
    )


def begin_move(person_id: int, session_id: int) -> SessionDraft:
    return SessionDraft(person_id, MOVE, WHEN, {"session": session_id})


def begin_followup(person_id: int, session_id: int, *, asks_workshop: bool) -> SessionDraft:
    return SessionDraft(
        person_id, FOLLOWUP, ATTENDED, {"session": session_id, "asks_workshop": asks_workshop}
    )


def is_stale(draft: SessionDraft, now: datetime) -> bool:
    return draft.updated_at is not None and now - draft.updated_at > DRAFT_TTL


def expects_text(draft: SessionDraft) -> bool:
    return draft.step in TEXT_STEPS


def _at(draft: SessionDraft, step: str, **values: Any) -> SessionDraft:
    return dataclasses.replace(draft, step=step, values={**draft.values, **values})


def read_text(draft: SessionDraft, text: str, zone: str, now: datetime) -> SessionDraft | Problem:
    """The next draft after typed input at a text step."""
    if draft.step == WHEN:
        moment = read_local_time(text, zone, now)
        if isinstance(moment, TimeProblem):
            return Problem(moment.template)
        next_step = PLACE if draft.flow == SCHEDULE else CONFIRM
        return _at(draft, next_step, starts_at=moment.isoformat())
    if draft.step == PLACE:
        place = " ".join(text.split())
        if not place or len(place) > SESSION_PLACE_MAX:
            return Problem("champions/place_invalid", {"limit": SESSION_PLACE_MAX})
        return _at(draft, DEPARTMENTS, place=place)
    if draft.step == ATTENDED:
        count = _headcount(text, MAX_HEADCOUNT)
        if count is None:
            return Problem("champions/number_invalid", {"limit": MAX_HEADCOUNT})
        next_step = WANTED if draft.values.get("asks_workshop") else CONFIRM
        return _at(draft, next_step, attended=count)
    if draft.step == WANTED:
        attended = int(draft.values.get("attended", 0))
        count = _headcount(text, attended)
        if count is None:
            return Problem("champions/number_invalid", {"limit": attended})
        return _at(draft, CONFIRM, want_workshop=count)
    return Problem("champions/tap_expected")


def _headcount(text: str, limit: int) -> int | None:
    cleaned = text.strip()
    if not cleaned.isdigit():
        return None
    value = int(cleaned)
    return value if 0 <= value <= limit else None


def choose_kind(draft: SessionDraft, kind: SessionKind) -> SessionDraft:
    return _at(draft, WHEN, kind=str(kind))


def toggle(draft: SessionDraft, key: str, item: int, *, fixed: int | None = None) -> SessionDraft:
    """Adds or removes a department or champion; `fixed` (the champion scheduling) stays on."""
    chosen = [int(i) for i in draft.values.get(key, [])]
    if item in chosen and item != fixed:
        chosen.remove(item)
    elif item not in chosen:
        chosen.append(item)
    return _at(draft, draft.step, **{key: sorted(chosen)})


def whole_organisation(draft: SessionDraft) -> SessionDraft:
    """No departments: the session is for everyone."""
    return _at(draft, CHAMPIONS, departments=[])


def departments_done(draft: SessionDraft) -> SessionDraft:
    return _at(draft, CHAMPIONS)


def champions_done(draft: SessionDraft) -> SessionDraft | Problem:
    if not draft.values.get("champions"):
        return Problem("champions/pick_champion")
    return _at(draft, CONFIRM)


def starts_at(draft: SessionDraft) -> datetime:
    return datetime.fromisoformat(str(draft.values["starts_at"]))
