"""A commitment, its follow-up on day 7 inside allowed hours, and each answer to it, over Telegram.

Through python-telegram-bot's real HTTP stack and the Bot API double, on SQLite and PostgreSQL, with
a ManualClock the tests move; the dispatcher is swept directly. The bot is restarted between the
commitment and its follow-up: only the rows carry it over. Quiet hours and the weekly cap are the
defaults (19:00-08:00 and weekends in Europe/Amsterdam; two a week).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.champions.clock import ManualClock
from bot.commitment_taps import NOT_DONE, OUTCOME, CommitmentTap
from bot.domain import CommitmentOutcome, NudgeKind
from tests.support.bot_api_double import BotApiDouble, ChatClient
from tests.support.harness import services
from tests.test_champions_support import (
    ADMIN,
    add_departments,
    become,
    champion_bot,
    drain,
    invite_link,
    nudge_rows,
    schedule,
    typed,
)
from tests.test_telegram_flow import PHASE_TAPS_NL

AMS = ZoneInfo("Europe/Amsterdam")
#: The policy's defaults, spelled out: champion_bot turns them off for tests of sending itself.
POLICY = {"quiet_from": 19, "quiet_until": 8, "quiet_weekends": True, "max_nudges_per_week": 2}
USER = 6101
TUESDAY_10 = datetime(2026, 12, 1, 10, tzinfo=AMS)
FOLLOW_UP = "Vorige week nam je je voor:"


async def _tap(user: ChatClient, label: str) -> None:
    await user.tap(label)
    await user.reply()


async def _check(user: ChatClient, *, first: bool = True) -> None:
    """Onboarding (the first time) and the phase check by taps; the advice comes last."""
    if first:
        await user.send("/start")
        await user.reply()
        for label in ("Nederlands", "Akkoord, we gaan", "Medewerker", "Sla ik over"):
            await _tap(user, label)
    for label in (*PHASE_TAPS_NL, "Beveiliging van het netwerk", "Klaar", "Geen van deze", "Klaar"):
        await _tap(user, label)
    await _tap(user, "Overslaan")


async def _commitments(app: Any) -> list[Any]:
    async with services(app).database.transaction(read_only=True) as repo:
        person = await repo.people.person_for_update("telegram", str(USER), create=False)
        assert person is not None
        return list(reversed(await repo.commitments.commitments_of(person.id)))


def _texts(api: BotApiDouble, marker: str) -> list[str]:
    return [m.text or "" for m in api.bot_messages(USER) if marker in (m.text or "")]


async def _commit_and_wait_a_week(api: BotApiDouble, url: str, clock: ManualClock) -> ChatClient:
    """Check, "Ja, doe ik", restart; day 6 brings nothing, day 7 at 10:00 the follow-up."""
    user = api.user(USER, "Ria", "nl")
    async with champion_bot(api, url, clock, **POLICY) as app:
        await _check(user)
        assert "Doe je dit deze week?" in (user.last_text() or "")
        await _tap(user, "Ja, doe ik")
        assert "Afgesproken" in (user.last_text() or "")
        [commitment] = await _commitments(app)
        assert commitment.made_at == clock.now() and commitment.outcome is None
        [row] = [r for r in await nudge_rows(services(app).database) if r["kind"] == NudgeKind.COMMITMENT]
        assert row["status"] == "pending" and row["commitment_id"] == commitment.id
    # A new process on the same database: nothing in memory survived, the rows did.
    async with champion_bot(api, url, clock, **POLICY) as app:
        clock.set(TUESDAY_10 + timedelta(days=6, hours=23))
        await drain(app)
        assert _texts(api, FOLLOW_UP) == []
        clock.set(TUESDAY_10 + timedelta(days=7))
        report = await drain(app)
        assert report.sent == 1
        await user.reply()
        [text] = _texts(api, FOLLOW_UP)
        assert "Is het gelukt?" in text
        assert user.buttons()[-4:] == ["✅ Gelukt", "🌓 Deels", "❌ Niet gelukt", "🔕 Niet meer vragen"]
        assert (await drain(app)).sent == 0  # never twice
    return user


async def test_done_what_worked_and_shared(clean_database_url: str) -> None:
    clock = ManualClock(TUESDAY_10)
    async with BotApiDouble() as api:
        user = await _commit_and_wait_a_week(api, clean_database_url, clock)
        async with champion_bot(api, clean_database_url, clock, **POLICY) as app:
            await _tap(user, "Gelukt")
            assert "Wat werkte?" in (user.last_text() or "")
            await user.send("Ik vroeg het in de teamchat & kreeg <binnen> een uur antwoord")
            await user.reply()
            assert "Mag ik dit als succes delen" in (user.last_text() or "")
            await _tap(user, "Ja, deel het")
            assert "Gedeeld" in (user.last_text() or "")
            [commitment] = await _commitments(app)
            assert commitment.outcome == CommitmentOutcome.DONE
            assert commitment.worked == "Ik vroeg het in de teamchat & kreeg <binnen> een uur antwoord"
            assert commitment.shared_at == clock.now()
            # Every later re-check opens with the outcome of the last commitment.
            await user.send("/check")
            replies = await user.reply()
            assert "Vorige keer nam je je voor:" in (replies[0].text or "")
            assert "Dat is gelukt." in (replies[0].text or "")
            await user.send("/mydata")
            await user.reply()
            mydata = user.last_text() or ""
            assert "Je voornemens" in mydata and "gedeeld met de aanjagers" in mydata
            assert "Vragen hoe een stap ging: aan" in mydata
        assert api.rejected == []


async def test_partly_without_text_and_not_shared(clean_database_url: str) -> None:
    clock = ManualClock(TUESDAY_10)
    async with BotApiDouble() as api:
        user = await _commit_and_wait_a_week(api, clean_database_url, clock)
        [question] = [m.message_id for m in api.bot_messages(USER) if FOLLOW_UP in (m.text or "")]
        async with champion_bot(api, clean_database_url, clock, **POLICY) as app:
            await _tap(user, "Deels")
            await _tap(user, "Overslaan")
            await _tap(user, "Liever niet")
            assert "het blijft bij jou" in (user.last_text() or "")
            [commitment] = await _commitments(app)
            assert commitment.outcome == CommitmentOutcome.PARTLY
            assert (commitment.worked, commitment.shared_at) == (None, None)
            # A second answer to the same follow-up (a replayed press) changes nothing.
            await user.tap_data(question, CommitmentTap(OUTCOME, commitment.id, NOT_DONE).encode())
            await api.settle()
            answer = user.last_callback_answer()
            assert answer is not None and answer.text == "Die vraag heb je al beantwoord."
            [again] = await _commitments(app)
            assert again.outcome == CommitmentOutcome.PARTLY
        assert api.rejected == []


@pytest.mark.parametrize(
    ("answer", "held_back"),
    [("Geen tijd", "fears.time_loss"), ("typed", "fears.time_loss"), ("Zeg ik liever niet", None)],
)
async def test_not_done_what_held_you_back_and_a_next_step(
    clean_database_url: str, answer: str, held_back: str | None
) -> None:
    clock = ManualClock(TUESDAY_10)
    async with BotApiDouble() as api:
        user = await _commit_and_wait_a_week(api, clean_database_url, clock)
        async with champion_bot(api, clean_database_url, clock, **POLICY) as app:
            [first] = await _commitments(app)
            await _tap(user, "Niet gelukt")
            assert "Wat hield je tegen?" in (user.last_text() or "")
            if answer == "typed":
                await user.send("Ik had er deze week gewoon geen tijd voor")
                await user.reply()
            else:
                await _tap(user, answer)
            text = user.last_text() or ""
            assert "Een stap die daarbij helpt" in text and "Doe je dit deze week?" in text
            catalog = services(app).catalog
            if held_back is not None:
                assert catalog.knowledge.get(held_back).text("title", "nl") in text
            [done] = await _commitments(app)
            assert (done.outcome, done.held_back) == (CommitmentOutcome.NOT_DONE, held_back)
            # The next step is another one, and a yes commits to it.
            await _tap(user, "Ja, doe ik")
            second = (await _commitments(app))[-1]
            assert second.step != first.step and second.outcome is None
            if held_back is not None:
                rules = services(app).coach.rules
                assert held_back in rules.step(second.step).addresses  # type: ignore[union-attr]
        assert api.rejected == []


async def test_dont_ask_again_turns_follow_ups_off(clean_database_url: str) -> None:
    clock = ManualClock(TUESDAY_10)
    async with BotApiDouble() as api:
        user = await _commit_and_wait_a_week(api, clean_database_url, clock)
        async with champion_bot(api, clean_database_url, clock, **POLICY) as app:
            await _tap(user, "Niet meer vragen")
            assert "ik vraag niet meer" in (user.last_text() or "")
            await user.send("/mydata")
            await user.reply()
            assert "Vragen hoe een stap ging: uit" in (user.last_text() or "")
            # A new commitment is kept, and no follow-up is planned for it.
            await user.send("/check")
            await user.reply()
            await _check(user, first=False)
            # The same step again is noted already (it is still open); another step is a new one.
            await user.tap("Ja, doe ik")
            await api.settle()
            answer = user.last_callback_answer()
            assert answer is not None and answer.text == "Die stap staat al genoteerd."
            await _tap(user, "Een andere stap")
            await _tap(user, "Ja, doe ik")
            assert "dus ik vraag niet hoe het ging" in (user.last_text() or "")
            assert len(await _commitments(app)) == 2
            clock.advance(timedelta(days=8))
            await drain(app)
            assert len(_texts(api, FOLLOW_UP)) == 1
        assert api.rejected == []


async def test_a_follow_up_due_in_quiet_hours_waits_for_the_morning(clean_database_url: str) -> None:
    saturday = datetime(2026, 12, 5, 11, tzinfo=AMS)
    clock = ManualClock(saturday)
    async with BotApiDouble() as api:
        user = api.user(USER, "Ria", "nl")
        async with champion_bot(api, clean_database_url, clock, **POLICY) as app:
            await _check(user)
            await _tap(user, "Ja, doe ik")
            [commitment] = await _commitments(app)
            # Due a week later would be a Saturday: planned for Monday 08:00 instead.
            assert commitment.followup_due_at == datetime(2026, 12, 14, 8, tzinfo=AMS)
            # A dispatcher that was down until Monday evening finds it due in quiet hours: it waits.
            clock.set(datetime(2026, 12, 14, 19, 30, tzinfo=AMS))
            report = await drain(app)
            assert (report.sent, report.postponed) == (0, 1)
            [row] = [r for r in await nudge_rows(services(app).database) if r["kind"] == NudgeKind.COMMITMENT]
            assert row["status"] == "pending" and "quiet hours" in row["last_error"]
            clock.set(datetime(2026, 12, 15, 8, 0, tzinfo=AMS))
            assert (await drain(app)).sent == 1
            await user.reply()
            assert len(_texts(api, FOLLOW_UP)) == 1
        assert api.rejected == []


async def _shared_by(
    app: Any, external_id: str, department_id: int, worked: str, share: bool, at: datetime
) -> None:
    """Someone who committed, did it, wrote what worked, and said yes (or no) to sharing it."""
    async with services(app).database.transaction() as repo:
        person = await repo.people.person_for_update("terminal", external_id, create=True)
        assert person is not None
        person.consent, person.department_id = True, department_id
        await repo.people.save_person(person)
        made = await repo.commitments.add_commitment(
            person_id=person.id,
            step="employee_share_a_tip",
            made_at=at - timedelta(days=7),
            followup_due_at=None,
            assessment_id=None,
            department_id=department_id,
        )
        await repo.commitments.record_outcome(made.id, CommitmentOutcome.DONE, at)
        await repo.commitments.set_worked(made.id, worked)
        if share:
            await repo.commitments.set_shared(made.id, at)


async def test_a_shared_success_reaches_the_next_brief_of_its_audience_and_no_other(
    clean_database_url: str,
) -> None:
    clock = ManualClock(TUESDAY_10)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        departments = await add_departments(app, "Sales", "Finance")
        yesterday = clock.now() - timedelta(days=1)
        await _shared_by(app, "s1", departments["Sales"], "Teamchat & <snel> antwoord", True, yesterday)
        await _shared_by(app, "s2", departments["Sales"], "NIET-GEDEELD van Sales", False, yesterday)
        await _shared_by(app, "f1", departments["Finance"], "GEDEELD door Finance", True, yesterday)
        admin = api.user(ADMIN, "Admin", "en")
        anna = api.user(6201, "Anna", "en")
        await become(anna, await invite_link(admin, "champion", "Anna"))
        starts = TUESDAY_10 + timedelta(days=3, hours=4)
        await schedule(admin, when=typed(starts), departments=["Sales"], champions=["Anna"])
        clock.set(starts - timedelta(days=1))
        await drain(app)
        [brief] = [m.text or "" for m in api.bot_messages(6201) if "Prep brief" in (m.text or "")]
        assert "Colleagues' successes, to tell" in brief
        assert "Teamchat & <snel> antwoord" in brief  # escaped on the way, shown as typed
        assert "NIET-GEDEELD" not in brief and "GEDEELD door Finance" not in brief
        assert api.rejected == []
