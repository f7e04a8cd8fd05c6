"""A champion's prep brief figures, taken from the released report (bot.reports.releases).

Why from the release: briefs computed afresh for each session could be subtracted from each other
(sessions for department sets that differ by one person, the whole organisation against all
departments, a moved session whose brief comes again) and each described one colleague (issue 14).
Built from the current month's release, every brief is a sum of figures that were already
protected together: the same audience gets the same figures until the next release, and
different audiences only get sums of cells that were shown anyway.

The audience must be exactly a set of the release's rows (the whole organisation, departments
shown on their own, or "other departments" when the session is for all of them); otherwise the
brief shows no figures, as for a group that is too small. A category is shown only when every
row's cell of it was shown; a hidden one is None.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import AudienceFigures
from bot.reports.anonymity import ORG
from bot.reports.measures import NAMED, PHASE_MODELS
from bot.reports.releases import Release

NO_FIGURES = AudienceFigures(respondents=0, phases={}, fears={})


def audience_rows(release: Release, department_ids: Sequence[int]) -> list[str] | None:
    """The release rows that make up exactly the audience, or None when no set of rows does."""
    if not department_ids:
        return [ORG]
    wanted = set(department_ids)
    rows = [row for row in release.rows if release.members[row] and release.members[row] <= wanted]
    covered = {d for row in rows for d in release.members[row]}
    return rows if rows and wanted <= covered else None


def _sum(release: Release, family: str, category: str, rows: Sequence[str]) -> int | None:
    figures = release.families.get(family)
    if figures is None or any((row, category) in figures.hidden for row in rows):
        return None
    return sum(figures.counts.get((row, category), 0) for row in rows)


def audience_figures(release: Release | None, department_ids: Sequence[int]) -> AudienceFigures:
    """Phases on both models and fears named, for the audience, as the release shows them."""
    if release is None:
        return NO_FIGURES
    rows = audience_rows(release, department_ids)
    if rows is None:
        return NO_FIGURES
    phases: dict[str, dict[str, int | None]] = {}
    for model in PHASE_MODELS:
        figures = release.families.get(model)
        categories = figures.categories if figures is not None else ()
        phases[model] = {phase: _sum(release, model, phase, rows) for phase in categories}
    fears = {
        family.partition(":")[2]: _sum(release, family, NAMED, rows)
        for family in release.families
        if family.startswith("fear:")
    }
    return AudienceFigures(respondents=sum(release.totals[row] for row in rows), phases=phases, fears=fears)
