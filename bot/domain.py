"""What the coach knows about people, in the product's language; shared by every layer.

Plain dataclasses so the engine, coaching and channels never see an ORM object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """What a person may do in the bot."""

    EMPLOYEE = "employee"
    CHAMPION = "champion"
    ADMIN = "admin"


class Standing(StrEnum):
    """Where a person sits in the organisation; the seeds' advice differs for each."""

    EMPLOYEE = "employee"
    MIDDLE_MANAGER = "middle_manager"
    TOP_MANAGEMENT = "top_management"
    COMMS_IT = "comms_it"


@dataclass
class Person:
    """Someone who talks to the coach, on one channel (telegram, terminal)."""

    id: int
    channel: str
    external_id: str
    language: str | None = None
    role: Role = Role.EMPLOYEE
    standing: Standing | None = None
    department_id: int | None = None
    consent: bool = False
    reachable: bool = True
    created_at: datetime | None = None


@dataclass
class Position:
    """Where a person stands in a dialogue; `version` guards against two writers at once."""

    person_id: int
    dialogue: str
    state: str
    values: dict[str, Any] = field(default_factory=dict)
    run_id: int = 1
    version: int = 0


@dataclass(frozen=True)
class AnswerRecord:
    """One line of the append-only answer log."""

    person_id: int
    run_id: int
    dialogue: str
    question: str
    option: str | None = None
    text: str | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True)
class Assessment:
    """The coach's reading of one completed check: a phase on each model, fears and causes."""

    person_id: int
    run_id: int
    phase_presence_model: str
    phase_pilot_model: str
    fears: tuple[str, ...]
    causes: tuple[str, ...]
    lens: str | None
    scores: dict[str, Any]
    department_id: int | None = None
    standing: str | None = None
    assessed_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class Department:
    """A department from the organisation's own list, so aggregates do not splinter into spellings."""

    id: int
    name: str


@dataclass(frozen=True)
class PersonalData:
    """Everything stored about one person, for /mydata."""

    person: Person
    department: str | None
    answers: tuple[AnswerRecord, ...]
    assessments: tuple[Assessment, ...]
    commitments: tuple[Commitment, ...] = ()


# -- champions: invitations, sessions and nudges -----------------------------------------------------


class SessionKind(StrEnum):
    """What a champion runs (seed 002): an inspiration session first, a workshop for the enthusiastic."""

    INSPIRATION = "inspiration"
    WORKSHOP = "workshop"


class NudgeKind(StrEnum):
    """Why a nudge is sent: a champion's prep brief or follow-up, an employee's reminder or re-check,
    the follow-up of a person's commitment, or word that a session someone expects was moved or
    cancelled."""

    BRIEF = "brief"
    FOLLOWUP = "followup"
    REMINDER = "reminder"
    RECHECK = "recheck"
    COMMITMENT = "commitment"
    MOVED = "moved"
    CANCELLED = "cancelled"


class NudgeStatus(StrEnum):
    """A nudge's life: pending → claimed (by one dispatcher) → sent | failed | cancelled."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class InspirationSession:
    """A voluntary inspiration session or practical workshop; no departments means everyone."""

    id: int
    kind: SessionKind
    starts_at: datetime
    place: str
    department_ids: tuple[int, ...] = ()
    champion_ids: tuple[int, ...] = ()
    created_by: int | None = None
    cancelled_at: datetime | None = None
    attended: int | None = None
    want_workshop: int | None = None


@dataclass(frozen=True)
class Nudge:
    """One message the dispatcher owes one person at `due_at`."""

    id: int
    kind: NudgeKind
    person_id: int
    due_at: datetime
    status: NudgeStatus = NudgeStatus.PENDING
    session_id: int | None = None
    offset_minutes: int | None = None
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None
    commitment_id: int | None = None


@dataclass(frozen=True)
class RoleHolder:
    """A champion or admin as an admin sees them: the label given with the invite, never answers."""

    person_id: int
    role: Role
    label: str | None
    external_id: str


@dataclass(frozen=True)
class AudienceFigures:
    """Counts over a session audience, for a champion's brief; `respondents` in all.

    Taken from the released report (bot.reports.audience); None is a figure hidden there."""

    respondents: int
    phases: dict[str, dict[str, int | None]]
    fears: dict[str, int | None]


# -- commitments: the step a person said they would take, and how it went (issue 13) -----------------


class CommitmentOutcome(StrEnum):
    """The person's answer to the follow-up; "replaced" when a newer commitment took its place."""

    DONE = "done"
    PARTLY = "partly"
    NOT_DONE = "not_done"
    REPLACED = "replaced"


@dataclass(frozen=True)
class Commitment:
    """ "Doe je dit deze week?" answered yes: one advice step, for one person, followed up once.

    `department_id` is copied in (like an assessment's) so the report counts where the person was
    when they committed; `shared_at` is set only when the person agreed to share `worked` with the
    champions, and only a shared success ever leaves /mydata.
    """

    id: int
    person_id: int
    step: str
    made_at: datetime
    followup_due_at: datetime
    assessment_id: int | None = None
    department_id: int | None = None
    outcome: CommitmentOutcome | None = None
    answered_at: datetime | None = None
    worked: str | None = None
    held_back: str | None = None
    shared_at: datetime | None = None


@dataclass(frozen=True)
class SharedSuccess:
    """A success its person agreed to share: what worked, on which step, without a name."""

    step: str
    worked: str | None
    shared_at: datetime
    department_id: int | None
