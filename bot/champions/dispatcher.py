"""The nudge dispatcher: claims due nudges, sends each, marks it, so none is lost and none doubled.

One sweep:
1. claim (one short transaction): up to `batch` due rows become status 'claimed' by this worker;
   on PostgreSQL with FOR UPDATE SKIP LOCKED, so two workers take disjoint rows;
2. read what the messages need (read-only), cancel the nudges that no longer apply (person blocked
   the bot, session cancelled or started, opted out, no longer a champion of it);
3. send outside any transaction, and mark each nudge sent right after its send succeeded, in its
   own short transaction; 403 marks the person unreachable and the nudge failed. Pacing is the
   channel's: on Telegram the bot's one flood-control layer sends nudges in its bulk lane, behind
   replies to people's own updates (bot/channels/telegram/pacing.py).

Guarantees and their limits (at-least-once, with a narrow window):
- A restart loses nothing: due rows stay 'pending' until claimed, and a claim that is never
  finished (the worker died) lapses after COACHBOT_NUDGE_LEASE_SECONDS and is claimed again.
- Two workers never send one nudge twice while both are alive: claims are disjoint, a worker stops
  sending from a claim once half the lease has passed (releasing the rest), and marking requires
  the claim to still be this worker's.
- The one way to a double: a worker crashes (or loses the database) after Telegram accepted a
  message and before the 'sent' mark commits; the lease then lapses and the nudge goes again. A
  timeout on the send itself is treated the same way (Telegram may or may not have delivered it).
  We chose this over at-most-once (mark first, send after) because a lost brief is worse than a
  rare repeated one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Protocol

from bot.champions.clock import SYSTEM_CLOCK, Clock
from bot.champions.compose import Composer, language_of, session_view
from bot.champions.nudges import plan_rechecks
from bot.coaching.rules import rules_of
from bot.commitment_flow import CommitmentFlow, quiet_hours
from bot.content.catalog import Catalog
from bot.conversation import Message
from bot.domain import (
    AudienceFigures,
    Commitment,
    InspirationSession,
    NudgeKind,
    NudgeStatus,
    RoleHolder,
    SharedSuccess,
)
from bot.nudging.policy import PRIORITY, WEEK, Action, Candidate, NudgePolicy, is_capped
from bot.reports.audience import audience_figures
from bot.reports.publishing import released_months
from bot.reports.releases import Release
from bot.reports.report import DEFAULT_MONTHS, categories_of
from bot.settings import Settings
from bot.storage.database import Database
from bot.storage.nudges import NudgeHistory, NudgeTarget

log = logging.getLogger(__name__)

#: Sends that failed for a reason that may pass (network) are tried again this often, then given up.
MAX_ATTEMPTS = 5
#: Seconds of sending at the full rate one claim covers.
BATCH_SECONDS = 15
#: How long re-check offers are planned apart, per worker (the plan is cheap but not free).
RECHECK_PLAN_EVERY = timedelta(minutes=10)
#: How far back a brief looks for successes its audience shared.
SUCCESS_WINDOW = timedelta(days=90)


# -- what a channel must offer the dispatcher ----------------------------------------------------------


class Blocked(Exception):
    """The person blocked the bot (Telegram 403): not tried again."""


class Undeliverable(Exception):
    """The channel refused the message for good (e.g. 400 chat not found)."""


class Unsure(Exception):
    """The send timed out or the network failed: it may or may not have arrived."""


class Throttled(Exception):
    """Still rate-limited (429) after the retries the sender allows itself."""


class SendFailed(Exception):
    """A multi-part message failed after `delivered` parts had gone out; wraps the cause."""

    def __init__(self, delivered: int, cause: Exception) -> None:
        super().__init__(f"{type(cause).__name__} after {delivered} part(s)")
        self.delivered = delivered
        self.cause = cause


class NudgeSender(Protocol):
    """Delivers one message to one chat, paced under the channel's limits as bulk, behind replies.

    It waits out a 429 itself (retry_after), and raises Blocked, Undeliverable, Unsure or Throttled
    (or SendFailed wrapping one, after a partial delivery).
    """

    async def send(self, chat_id: int, message: Message) -> None: ...


# -- the dispatcher ----------------------------------------------------------------------------------


@dataclass
class SweepReport:
    """What one sweep (or a drain) did, by outcome."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    cancelled: int = 0
    released: int = 0
    lost: int = 0  # claim lapsed before the mark: another worker may have sent it too
    planned: int = 0
    postponed: int = 0  # quiet hours or the weekly cap: handed back with a later due time

    def add(self, other: SweepReport) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class _Delivery:
    nudge_id: int
    person_id: int
    chat_id: int
    attempts: int
    message: Message


@dataclass
class _Batch:
    deliveries: list[_Delivery] = field(default_factory=list)
    skips: list[tuple[int, str]] = field(default_factory=list)
    postpones: list[tuple[int, datetime, str]] = field(default_factory=list)


def worker_name() -> str:
    """Host, process and a random tag: unique per running dispatcher, readable in the table."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Dispatcher:
    """Sends due nudges; one per process, swept by a repeating job (or directly, in tests)."""

    def __init__(
        self,
        database: Database,
        sender: NudgeSender,
        catalog: Catalog,
        settings: Settings,
        clock: Clock = SYSTEM_CLOCK,
        *,
        worker: str | None = None,
        batch: int | None = None,
        concurrency: int = 16,
    ) -> None:
        self.database = database
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.worker = worker or worker_name()
        # About 15 seconds of sends: well inside the lease, and few batch boundaries (a claim and a
        # read each, with the pipe idle meanwhile) in a fan-out, where the job sweeps batch after batch.
        self.batch = batch or max(10, min(500, int(settings.send_rate * BATCH_SECONDS)))
        self.lease = timedelta(seconds=settings.nudge_lease_seconds)
        self.composer = Composer(catalog, settings)
        self.catalog = catalog
        self.commitments = CommitmentFlow(catalog, rules_of(catalog), settings)
        self.policy = NudgePolicy(settings.max_nudges_per_week, quiet_hours(settings))
        self._concurrency = concurrency
        self._next_recheck_plan: datetime | None = None
        self._sweeping = asyncio.Lock()

    async def drain(self, max_sweeps: int = 10_000) -> SweepReport:
        """Sweeps until nothing is due: what a test calls after moving the clock."""
        total = SweepReport()
        for _ in range(max_sweeps):
            report = await self.sweep()
            total.add(report)
            if report.claimed == 0:
                break
        return total

    async def sweep(self) -> SweepReport:
        """Claims one batch of due nudges and delivers it; sweeps of one dispatcher never overlap."""
        async with self._sweeping:
            report = SweepReport()
            now = self.clock.now()
            if self._next_recheck_plan is None or now >= self._next_recheck_plan:
                report.planned = await self.plan_rechecks()
                self._next_recheck_plan = now + RECHECK_PLAN_EVERY
            async with self.database.transaction() as repo:
                ids = await repo.nudges.claim_due(self.worker, now, now - self.lease, self.batch)
            report.claimed = len(ids)
            if not ids:
                return report
            claimed_at = time.monotonic()
            batch = await self._prepare(ids, now)
            await self._skip(batch.skips, report)
            await self._postpone(batch.postpones, report)
            await self._send_all(batch.deliveries, claimed_at, report)
            log.info(
                "nudges.swept",
                extra={"claimed": report.claimed, "sent": report.sent, "failed": report.failed},
            )
            return report

    async def plan_rechecks(self) -> int:
        """Adds re-check offers that have come due; safe to run in several workers at once."""
        async with self.database.transaction() as repo:
            return await plan_rechecks(repo, self.settings, self.clock.now())

    # -- preparing -------------------------------------------------------------------------------

    async def _current_release(self, now: datetime) -> Release | None:
        """The latest released month's report figures (the current month released now if due), for
        prep briefs: a month counts its own check-ins, so early in a month, before enough colleagues
        checked in, the brief stands on the last month released, as the report does."""
        releases, _ = await released_months(
            self.database,
            categories_of(self.catalog.knowledge),
            min_group=self.settings.min_group,
            zone=self.settings.timezone,
            months=DEFAULT_MONTHS,
            refresh_hours=self.settings.report_refresh_hours,
            now=now,
        )
        return releases[-1] if releases else None

    async def _brief_figures(
        self, targets: Sequence[NudgeTarget], sessions: dict[int, InspirationSession], now: datetime
    ) -> dict[int, AudienceFigures]:
        """Each briefed session's audience figures, from the released report (bot.reports.audience)."""
        briefed = {t.nudge.session_id for t in targets if t.nudge.kind == NudgeKind.BRIEF}
        briefed &= set(sessions)
        if not briefed:
            return {}
        release = await self._current_release(now)
        return {
            sid: audience_figures(release, sessions[sid].department_ids) for sid in briefed if sid is not None
        }

    async def _prepare(self, ids: Sequence[int], now: datetime) -> _Batch:
        """Reads everything the messages need in one read-only transaction, then decides each."""
        batch = _Batch()
        async with self.database.transaction(read_only=True) as repo:
            targets = await repo.nudges.nudge_targets(ids)
            session_ids = {t.nudge.session_id for t in targets if t.nudge.session_id is not None}
            sessions: dict[int, InspirationSession] = {}
            for session_id in sorted(session_ids):
                found = await repo.sessions.session_by_id(session_id)
                if found is not None:
                    sessions[session_id] = found
            names = {d.id: d.name for d in await repo.departments.departments()} if sessions else {}
            holders = {h.person_id: h for h in await repo.roles.role_holders()} if sessions else {}
            successes: dict[int, list[SharedSuccess]] = {}
            for target in targets:
                sid = target.nudge.session_id
                if target.nudge.kind == NudgeKind.BRIEF and sid in sessions and sid not in successes:
                    successes[sid] = await repo.commitments.shared_successes(
                        sessions[sid].department_ids, since=now - SUCCESS_WINDOW
                    )
            commitments: dict[int, Commitment] = {}
            for target in targets:
                cid = target.nudge.commitment_id
                if target.nudge.kind == NudgeKind.COMMITMENT and cid is not None:
                    found_commitment = await repo.commitments.commitment(cid)
                    if found_commitment is not None:
                        commitments[cid] = found_commitment
            capped_people = sorted({t.nudge.person_id for t in targets if is_capped(t.nudge.kind)})
            history = await repo.nudges.history(capped_people, list(PRIORITY), now - WEEK)
        figures = await self._brief_figures(targets, sessions, now)
        superseded = _superseded_briefs(targets)
        waiting: dict[int, list[tuple[NudgeTarget, Candidate]]] = defaultdict(list)
        for target in targets:
            session = sessions.get(target.nudge.session_id or -1)
            commitment = commitments.get(target.nudge.commitment_id or -1)
            reason = "a later brief supersedes it" if target.nudge.id in superseded else None
            reason = reason or _reason_to_skip(target, session, now, commitment)
            if reason is not None:
                batch.skips.append((target.nudge.id, reason))
                continue
            if is_capped(target.nudge.kind):
                deadline = session.starts_at if session is not None else None
                candidate = Candidate(target.nudge.id, target.nudge.kind, target.nudge.due_at, deadline)
                waiting[target.nudge.person_id].append((target, candidate))
                continue
            batch.deliveries.append(
                self._delivery(target, session, names, holders, figures, commitment, successes)
            )
        for person_id, items in waiting.items():
            self._apply_policy(
                batch,
                items,
                history.get(person_id, NudgeHistory()),
                now,
                lambda target: self._delivery(
                    target,
                    sessions.get(target.nudge.session_id or -1),
                    names,
                    holders,
                    figures,
                    commitments.get(target.nudge.commitment_id or -1),
                    successes,
                ),
            )
        return batch

    def _apply_policy(
        self,
        batch: _Batch,
        items: Sequence[tuple[NudgeTarget, Candidate]],
        history: NudgeHistory,
        now: datetime,
        deliver: Callable[[NudgeTarget], _Delivery],
    ) -> None:
        """One person's capped nudges: sent now, postponed to a stated time, or cancelled as pointless."""
        upcoming = [Candidate(nid, kind, due) for nid, kind, due, _ in history.pending]
        decisions = self.policy.decide([c for _, c in items], history.sent, upcoming, now)
        by_id = {c.nudge_id: t for t, c in items}
        for decision in decisions:
            target = by_id[decision.nudge_id]
            if decision.action == Action.CANCEL:
                batch.skips.append((decision.nudge_id, decision.reason))
            elif decision.action == Action.POSTPONE:
                assert decision.until is not None
                batch.postpones.append((decision.nudge_id, decision.until, decision.reason))
            else:
                batch.deliveries.append(deliver(target))

    def _delivery(
        self,
        target: NudgeTarget,
        session: InspirationSession | None,
        names: dict[int, str],
        holders: dict[int, RoleHolder],
        figures: dict[int, AudienceFigures],
        commitment: Commitment | None,
        successes: dict[int, list[SharedSuccess]],
    ) -> _Delivery:
        lang = language_of(target.language)
        if target.nudge.kind == NudgeKind.COMMITMENT:
            assert commitment is not None  # _reason_to_skip cancels a follow-up without one
            message = self.commitments.followup_message(lang, commitment)
        else:
            view = session_view(session, names, holders) if session is not None else None
            shared = [
                {"step": self.commitments.step_text(s.step, lang), "worked": s.worked}
                for s in (successes.get(session.id, []) if session else [])
            ]
            message = self.composer.nudge(
                target.nudge.kind, lang, view, figures.get(session.id) if session else None, shared
            )
        return _Delivery(
            target.nudge.id, target.nudge.person_id, int(target.external_id), target.nudge.attempts, message
        )

    async def _postpone(self, postpones: Sequence[tuple[int, datetime, str]], report: SweepReport) -> None:
        if not postpones:
            return
        async with self.database.transaction() as repo:
            for nudge_id, until, reason in postpones:
                if await repo.nudges.postpone(nudge_id, self.worker, until, reason):
                    report.postponed += 1
        log.info("nudges.postponed", extra={"count": len(postpones)})

    async def _skip(self, skips: Sequence[tuple[int, str]], report: SweepReport) -> None:
        if not skips:
            return
        now = self.clock.now()
        async with self.database.transaction() as repo:
            for nudge_id, reason in skips:
                if await repo.nudges.finish(nudge_id, self.worker, NudgeStatus.CANCELLED, now, reason):
                    report.cancelled += 1
        log.info("nudges.skipped", extra={"count": len(skips)})

    # -- sending ---------------------------------------------------------------------------------

    async def _send_all(
        self, deliveries: Sequence[_Delivery], claimed_at: float, report: SweepReport
    ) -> None:
        """Chats in parallel (bounded), each chat's nudges in order so its pacing holds.

        Chats with several nudges go first: their later ones must wait a second after the earlier,
        and waiting at the start overlaps with other chats' sends instead of trailing the batch.
        """
        by_chat: dict[int, list[_Delivery]] = defaultdict(list)
        for delivery in deliveries:
            by_chat[delivery.chat_id].append(delivery)
        gate = asyncio.Semaphore(self._concurrency)
        chats = sorted(by_chat.values(), key=len, reverse=True)

        async def one_chat(items: list[_Delivery]) -> None:
            async with gate:
                for item in items:
                    await self._deliver(item, claimed_at, report)

        await asyncio.gather(*(one_chat(items) for items in chats))

    async def _deliver(self, delivery: _Delivery, claimed_at: float, report: SweepReport) -> None:
        if time.monotonic() - claimed_at > self.lease.total_seconds() / 2:
            # Past half the lease another worker may soon take this claim over: hand it back.
            await self._release(delivery, "lease running out", report)
            return
        try:
            await self.sender.send(delivery.chat_id, delivery.message)
        except SendFailed as partial:
            log.warning("nudge.partial", extra={"nudge": delivery.nudge_id, "parts": partial.delivered})
            await self._mark(delivery, NudgeStatus.SENT, report, f"partial: {partial}")
        except Blocked:
            await self._blocked(delivery, report)
        except Undeliverable as error:
            await self._mark(delivery, NudgeStatus.FAILED, report, f"undeliverable: {error}")
        except (Unsure, Throttled) as error:
            if delivery.attempts >= MAX_ATTEMPTS:
                await self._mark(delivery, NudgeStatus.FAILED, report, f"gave up: {error}")
            else:
                await self._release(delivery, f"{type(error).__name__}: {error}", report)
        except Exception as error:  # a bug must not strand the rest of the batch
            log.exception("nudge.send_crashed", extra={"nudge": delivery.nudge_id})
            await self._release(delivery, f"crash: {type(error).__name__}", report)
        else:
            await self._mark(delivery, NudgeStatus.SENT, report)

    async def _mark(
        self, delivery: _Delivery, status: NudgeStatus, report: SweepReport, error: str | None = None
    ) -> None:
        async with self.database.transaction() as repo:
            kept = await repo.nudges.finish(delivery.nudge_id, self.worker, status, self.clock.now(), error)
        if not kept:
            report.lost += 1
            log.warning("nudge.claim_lost", extra={"nudge": delivery.nudge_id})
        elif status == NudgeStatus.SENT:
            report.sent += 1
        else:
            report.failed += 1

    async def _blocked(self, delivery: _Delivery, report: SweepReport) -> None:
        async with self.database.transaction() as repo:
            await repo.people.set_unreachable(delivery.person_id)
            kept = await repo.nudges.finish(
                delivery.nudge_id, self.worker, NudgeStatus.FAILED, self.clock.now(), "blocked the bot"
            )
        report.failed += int(kept)
        log.info("nudge.blocked", extra={"nudge": delivery.nudge_id})

    async def _release(self, delivery: _Delivery, error: str, report: SweepReport) -> None:
        async with self.database.transaction() as repo:
            if await repo.nudges.release(delivery.nudge_id, self.worker, error):
                report.released += 1


def _superseded_briefs(targets: Sequence[NudgeTarget]) -> set[int]:
    """Briefs due together for one person and session (the dispatcher was down): only the latest goes."""
    latest: dict[tuple[int, int | None], NudgeTarget] = {}
    for target in targets:
        if target.nudge.kind != NudgeKind.BRIEF:
            continue
        key = (target.nudge.person_id, target.nudge.session_id)
        held = latest.get(key)
        if held is None or target.nudge.due_at > held.nudge.due_at:
            latest[key] = target
    kept = {target.nudge.id for target in latest.values()}
    return {t.nudge.id for t in targets if t.nudge.kind == NudgeKind.BRIEF and t.nudge.id not in kept}


def _reason_to_skip(  # noqa: C901 (one flat list of independent reasons, read top to bottom)
    target: NudgeTarget,
    session: InspirationSession | None,
    now: datetime,
    commitment: Commitment | None = None,
) -> str | None:
    """Why a claimed nudge should not go out any more, checked on fresh rows just before sending."""
    nudge = target.nudge
    if target.channel != "telegram" or not target.external_id.isdigit():
        return "no telegram chat"
    if not target.reachable:
        return "unreachable"
    if nudge.kind == NudgeKind.RECHECK:
        return "opted out" if (target.recheck_opt_out or not target.consent) else None
    if nudge.kind == NudgeKind.COMMITMENT:
        if commitment is None:
            return "commitment gone"
        if commitment.outcome is not None:
            return "already answered"
        return "follow-ups off" if (target.followup_opt_out or not target.consent) else None
    if session is None:
        return "session gone"
    if nudge.kind == NudgeKind.CANCELLED:
        return None
    if session.cancelled_at is not None:
        return "session cancelled"
    if nudge.kind == NudgeKind.MOVED:
        return "session already started" if session.starts_at <= now else None
    if nudge.kind in (NudgeKind.BRIEF, NudgeKind.REMINDER) and session.starts_at <= now:
        return "session already started"
    if nudge.kind in (NudgeKind.BRIEF, NudgeKind.FOLLOWUP) and nudge.person_id not in session.champion_ids:
        return "no longer runs the session"
    if nudge.kind == NudgeKind.REMINDER:
        if not (target.consent and target.session_reminders):
            return "reminders off"
        if session.department_ids and target.department_id not in session.department_ids:
            return "not in the audience"
    return None


__all__ = [
    "Blocked",
    "Dispatcher",
    "NudgeSender",
    "SendFailed",
    "SweepReport",
    "Throttled",
    "Undeliverable",
    "Unsure",
]
