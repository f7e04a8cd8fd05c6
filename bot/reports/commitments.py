"""The commitments in the admin report: per month and group, how many respondents committed to a
step, how many answered the follow-up, how many of those succeeded; and the most completed steps.

Why from the release
    Computed afresh per report (as issue 13 first did), two reports subtract: a newcomer's success,
    or one person's /forget, is the difference. So the follow-up is one more family of the released
    figures (bot.reports.measures, COMMITMENT): every respondent of a month is in exactly one
    category (succeeded, not succeeded, not answered yet, or no commitment that month), in the same
    rows, vouched for like every other figure, protected together with every earlier release and then
    shown as stored. Only people who took the check count; their commitment counts where they do.
    Two figures of issue 13 changed for it: the number of commitments made (a sum, which no cell
    rule protects) is gone, and the most completed steps are named without counts, frozen with the
    current month's release (each by at least COACHBOT_MIN_GROUP people).

Nothing here reads `worked` or any other free text; it only re-labels released figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.reports.aggregates import FOLLOW_UP, NO_COMMITMENT, NOT_SUCCEEDED, SUCCEEDED, UNANSWERED

#: The follow-up's categories, and the whole partition of a row (the CSV writes all of it).
CATEGORIES = FOLLOW_UP
PARTITION = (*FOLLOW_UP, NO_COMMITMENT)
__all__ = ["CATEGORIES", "NOT_SUCCEEDED", "NO_COMMITMENT", "PARTITION", "SUCCEEDED", "UNANSWERED"]


@dataclass(frozen=True)
class FollowUpRow:
    """One group in one month; a hidden figure is None."""

    key: str
    name: str
    respondents: int
    counts: Mapping[str, int | None]
    """Every category of the partition, NO_COMMITMENT included, as released."""

    @property
    def people(self) -> int | None:
        """Respondents who committed to a step that month (None: hidden)."""
        none = self.counts.get(NO_COMMITMENT)
        return None if none is None else self.respondents - none

    @property
    def answered(self) -> int | None:
        """People who answered the follow-up: shown only when both of its parts are."""
        ok, not_ok = self.counts.get(SUCCEEDED), self.counts.get(NOT_SUCCEEDED)
        return None if ok is None or not_ok is None else ok + not_ok

    @property
    def success_share(self) -> float | None:
        answered = self.answered
        ok = self.counts.get(SUCCEEDED)
        return None if not answered or ok is None else ok / answered


@dataclass(frozen=True)
class FollowUpMonth:
    start: date
    rows: tuple[FollowUpRow, ...]


@dataclass(frozen=True)
class CommitmentFigures:
    """What the report shows about commitments, as released."""

    months: tuple[FollowUpMonth, ...]
    top_steps: tuple[str, ...]
    """Step ids, most completed first (no counts); empty when no step reached the threshold."""


def with_commitments(months: Sequence[FollowUpMonth]) -> list[FollowUpMonth]:
    """The months in which someone committed, or in which it is hidden whether anyone did."""
    return [m for m in months if m.rows and m.rows[0].people != 0]
