"""Turns sessions and nudges into messages (text and buttons), from the champions/ templates.

Plain values in, bot.conversation.Message out: no SQL and no Telegram, so the desk, the dispatcher
and the tests all describe a session the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot import callbacks
from bot.callbacks import FollowupTap, RecheckTap, RemindersTap
from bot.champions.briefs import brief_context
from bot.content.catalog import Catalog
from bot.content.dates import spoken
from bot.conversation import Button, Message
from bot.domain import AudienceFigures, InspirationSession, NudgeKind, Role, RoleHolder
from bot.engine.spec import LANGUAGES
from bot.settings import Settings

#: Each name written out, so `coachbot validate` sees which messages are used.
ROLE_NAMES = {
    Role.EMPLOYEE: "champions/role_employee",
    Role.CHAMPION: "champions/role_champion",
    Role.ADMIN: "champions/role_admin",
}
NOTICES = {NudgeKind.MOVED: "champions/notice_moved", NudgeKind.CANCELLED: "champions/notice_cancelled"}


def language_of(stored: str | None, hint: str | None = None) -> str:
    """The person's chosen language; before a choice, Telegram's hint (as the coach does)."""
    if stored in LANGUAGES:
        return str(stored)
    return "nl" if (hint or "").lower().startswith("nl") else "en"


@dataclass(frozen=True)
class SessionView:
    """A session with the names a person reads: departments and the labels of its champions."""

    session: InspirationSession
    departments: tuple[str, ...]
    champions: tuple[str, ...]


def session_view(
    session: InspirationSession, department_names: Mapping[int, str], holders: Mapping[int, RoleHolder]
) -> SessionView:
    return SessionView(
        session=session,
        departments=tuple(department_names[d] for d in session.department_ids if d in department_names),
        champions=tuple(holder_label(holders[p]) if p in holders else f"#{p}" for p in session.champion_ids),
    )


def holder_label(holder: RoleHolder) -> str:
    """The invite's label, or a number an admin can still tell apart."""
    return holder.label or f"#{holder.person_id}"


class Composer:
    """Renders champion messages in Dutch or English."""

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings

    def text(self, lang: str, template: str, **context: Any) -> str:
        context.setdefault("min_group", self.settings.min_group)
        return self.catalog.renderer.render(lang, template, **context)

    def message(
        self, lang: str, template: str, buttons: tuple[tuple[Button, ...], ...] = (), **context: Any
    ) -> Message:
        return Message(self.text(lang, template, **context), buttons)

    def when(self, view: SessionView, lang: str) -> str:
        return spoken(view.session.starts_at, lang, self.settings.timezone)

    def session_context(self, view: SessionView, lang: str) -> dict[str, Any]:
        """What every template says about a session."""
        return {
            "number": view.session.id,
            "kind": str(view.session.kind),
            "when": self.when(view, lang),
            "place": view.session.place,
            "departments": list(view.departments),
            "champions": list(view.champions),
            "cancelled": view.session.cancelled_at is not None,
        }

    def role_name(self, lang: str, role: Role) -> str:
        return self.text(lang, ROLE_NAMES[role])

    # -- nudges ----------------------------------------------------------------------------------

    def brief(
        self,
        lang: str,
        view: SessionView,
        figures: AudienceFigures,
        successes: Sequence[Mapping[str, str | None]] = (),
    ) -> Message:
        """`successes`: recent ones people of this audience agreed to share (seed 002: they convince)."""
        context = brief_context(
            self.catalog.knowledge, figures, view.session.kind, lang, self.settings.min_group
        )
        return self.message(
            lang,
            "champions/brief",
            session=self.session_context(view, lang),
            successes=list(successes),
            **context,
        )

    def followup(self, lang: str, view: SessionView) -> Message:
        button = Button(
            self.text(lang, "champions/button_report"), callbacks.encode(FollowupTap(view.session.id))
        )
        return self.message(
            lang, "champions/followup", ((button,),), session=self.session_context(view, lang)
        )

    def reminder(self, lang: str, view: SessionView) -> Message:
        button = Button(
            self.text(lang, "champions/button_reminders_off"), callbacks.encode(RemindersTap(on=False))
        )
        return self.message(
            lang, "champions/reminder", ((button,),), session=self.session_context(view, lang)
        )

    def recheck(self, lang: str) -> Message:
        buttons = (
            (Button(self.text(lang, "champions/button_recheck"), callbacks.encode(RecheckTap(start=True))),),
            (
                Button(
                    self.text(lang, "champions/button_recheck_never"),
                    callbacks.encode(RecheckTap(start=False)),
                ),
            ),
        )
        return self.message(lang, "champions/recheck", buttons, weeks=self.settings.recheck_weeks)

    def nudge(
        self,
        kind: NudgeKind,
        lang: str,
        view: SessionView | None,
        figures: AudienceFigures | None,
        successes: Sequence[Mapping[str, str | None]] = (),
    ) -> Message:
        if kind == NudgeKind.RECHECK:
            return self.recheck(lang)
        assert view is not None, f"a {kind} nudge belongs to a session"
        if kind == NudgeKind.BRIEF:
            assert figures is not None
            return self.brief(lang, view, figures, successes)
        if kind == NudgeKind.FOLLOWUP:
            return self.followup(lang, view)
        if kind in (NudgeKind.MOVED, NudgeKind.CANCELLED):
            return self.message(lang, NOTICES[kind], session=self.session_context(view, lang))
        return self.reminder(lang, view)
