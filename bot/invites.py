"""Invite links for champions and admins: single use, expiring, stored only as a hash.

The coach accepts them (a deep link opens with /start <code>) and the champions' desk makes them,
so they sit below both.

A code is 128 random bits in Telegram's deep-link alphabet, so a plain SHA-256 is enough to keep the
table useless to whoever reads it (no code can be guessed back from its hash), and a forged code
is refused without a timing hint worth having.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain import Person, Role
from bot.storage.models import INVITE_LABEL_MAX
from bot.storage.unit_of_work import UnitOfWork

#: Telegram allows A-Z, a-z, 0-9, _ and - in a /start payload, at most 64 characters.
_CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_CODE_BYTES = 16
#: Roles an invite may give; employees need none.
INVITABLE = (Role.CHAMPION, Role.ADMIN)
_RANK = {Role.EMPLOYEE: 0, Role.CHAMPION: 1, Role.ADMIN: 2}


class InviteAnswer(StrEnum):
    """What opening an invite link did; each names the reply template `champions/invite_<value>`."""

    ACCEPTED = "accepted"
    DEPARTMENT = "department"
    """A department invite: the person is now a vouched-for member of its department."""
    ALREADY = "already"
    EXPIRED = "expired"
    USED = "used"
    INVALID = "invalid"


#: The reply to each answer, written out so `coachbot validate` sees which messages are used.
_TEMPLATES = {
    InviteAnswer.ACCEPTED: "champions/invite_accepted",
    InviteAnswer.DEPARTMENT: "champions/invite_department",
    InviteAnswer.ALREADY: "champions/invite_already",
    InviteAnswer.EXPIRED: "champions/invite_expired",
    InviteAnswer.USED: "champions/invite_used",
    InviteAnswer.INVALID: "champions/invite_invalid",
}


@dataclass(frozen=True)
class InviteResult:
    answer: InviteAnswer
    role: Role | None = None

    @property
    def template(self) -> str:
        return _TEMPLATES[self.answer]

    @property
    def granted(self) -> bool:
        return self.answer in (InviteAnswer.ACCEPTED, InviteAnswer.DEPARTMENT)


@dataclass(frozen=True)
class NewInvite:
    """A freshly made invite: the code exists only here and in the link the admin passes on."""

    id: int
    code: str
    role: Role
    label: str | None
    expires_at: datetime


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii", "replace")).hexdigest()


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def clean_label(text: str) -> str | None:
    """The admin's note on whom an invite is for: one line, trimmed to the column."""
    # NUL and other control or invisible characters: PostgreSQL refuses NUL in text (issue 14).
    visible = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    cleaned = " ".join(visible.split())[:INVITE_LABEL_MAX].strip()
    return cleaned or None


def outranks(current: Role, offered: Role) -> bool:
    """An admin opening a champion link stays admin: invites never lower a role."""
    return _RANK[current] >= _RANK[offered]


async def create_invite(
    repo: UnitOfWork,
    *,
    role: Role,
    created_by: int | None,
    label: str | None,
    now: datetime,
    valid_days: int,
) -> NewInvite:
    if role not in INVITABLE:
        raise ValueError(f"no invites for the role {role!r}")
    code = secrets.token_urlsafe(_CODE_BYTES)
    expires_at = now + timedelta(days=valid_days)
    invite_id = await repo.invites.add_invite(
        code_hash=hash_code(code),
        role=role,
        label=label,
        created_by=created_by,
        created_at=now,
        expires_at=expires_at,
    )
    return NewInvite(invite_id, code, role, label, expires_at)


async def create_department_invite(
    repo: UnitOfWork,
    *,
    department_id: int,
    created_by: int | None,
    label: str | None,
    now: datetime,
    valid_days: int,
) -> NewInvite:
    """A link that puts whoever opens it in the department, vouched for (issue 14): only members
    an admin or champion vouched for count in the department's figures, so accounts that merely
    name a department cannot lift it over COACHBOT_MIN_GROUP."""
    code = secrets.token_urlsafe(_CODE_BYTES)
    expires_at = now + timedelta(days=valid_days)
    invite_id = await repo.invites.add_invite(
        code_hash=hash_code(code),
        role=Role.EMPLOYEE,
        label=label,
        created_by=created_by,
        created_at=now,
        expires_at=expires_at,
        department_id=department_id,
    )
    return NewInvite(invite_id, code, Role.EMPLOYEE, label, expires_at)


async def accept_invite(repo: UnitOfWork, person: Person, payload: str, now: datetime) -> InviteResult:
    """Opens an invite for `person` inside the coach's transaction (their row is locked).

    Refusals name why (expired, used, not valid) and change nothing; an accepted code is marked
    used in the same transaction that gives the role, so it cannot give it twice.
    """
    code = payload.strip()
    if not _CODE_SHAPE.match(code):
        return InviteResult(InviteAnswer.INVALID)
    digest = hash_code(code)
    state = await repo.invites.invite_state(digest)
    if state is None:
        return InviteResult(InviteAnswer.INVALID)
    if state.used:
        return InviteResult(InviteAnswer.USED, state.role)
    if state.expires_at <= now:
        return InviteResult(InviteAnswer.EXPIRED, state.role)
    if state.department_id is not None:
        if await repo.invites.use_invite(digest, person.id, now) is None:
            return InviteResult(InviteAnswer.USED, state.role)
        await repo.people.vouch(person.id, state.department_id)
        person.department_id = state.department_id
        return InviteResult(InviteAnswer.DEPARTMENT, person.role)
    if outranks(person.role, state.role):
        # Nothing to give: the link stays usable for the person it was meant for.
        return InviteResult(InviteAnswer.ALREADY, person.role)
    role = await repo.invites.use_invite(digest, person.id, now)
    if role is None:  # someone else used it between the look and the update
        return InviteResult(InviteAnswer.USED, state.role)
    person.role = role
    await repo.people.save_person(person)
    return InviteResult(InviteAnswer.ACCEPTED, role)
