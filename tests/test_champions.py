"""Champions through the Bot API double: invitations, scheduling, briefs and follow-ups, reminders.

The clock is a ManualClock the tests move; the dispatcher is swept directly instead of waiting for
its repeating job. Every step goes through python-telegram-bot's real HTTP stack.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot import callbacks, commands
from bot.champions.clock import ManualClock
from bot.domain import NudgeKind, Role
from bot.engine.choice_token import ChoiceToken
from bot.storage.models import assessment_findings_table, assessments_table, people_table
from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import services
from tests.test_champions_support import (
    ADMIN,
    add_departments,
    add_respondents,
    become,
    champion_bot,
    drain,
    invite_link,
    local,
    nudge_rows,
    onboard,
    schedule,
    session_rows,
    texts,
    typed,
)

ANNA = 5301
BEN = 5302
EVA = 5303

#: Sales' respondents: (presence-model phase, pilot-model phase, fears).
SALES_ANSWERS = [
    ("presence", "pilot", ("time_loss", "security")),
    ("presence", "pilot", ("time_loss",)),
    ("dialogue", "centralisation", ("time_loss", "unwanted_messages")),
    ("dialogue", "pilot", ("security",)),
    ("engagement", "coordination", ()),
    ("dialogue", "centralisation", ("time_loss",)),
]


async def _expected_figures(database, department_id: int) -> tuple[int, Counter, Counter, Counter]:
    """Straight from the stored rows, in Python: each person's latest assessment in the department."""
    async with database.engine.connect() as connection:
        rows = (await connection.execute(select(assessments_table))).mappings().all()
        findings = (await connection.execute(select(assessment_findings_table))).mappings().all()
    named: dict[int, set[str]] = {}
    for finding in findings:
        if finding["kind"] == "fear":
            named.setdefault(finding["assessment_id"], set()).add(finding["item"])
    latest: dict[int, dict] = {}
    for row in rows:
        held = latest.get(row["person_id"])
        if held is None or (row["assessed_at"], row["id"]) > (held["assessed_at"], held["id"]):
            latest[row["person_id"]] = row
    audience = [r for r in latest.values() if r["department_id"] == department_id]
    presence = Counter(r["phase_presence_model"] for r in audience)
    pilot = Counter(r["phase_pilot_model"] for r in audience)
    fears = Counter(f for r in audience for f in named.get(r["id"], ()))
    return len(audience), presence, pilot, fears


def _pct(count: int, total: int) -> int:
    return round(100 * count / total)


async def test_invite_schedule_brief_and_followup_end_to_end(clean_database_url):
    """Done-when 1: invite → accept → schedule → two briefs and a follow-up, answered and stored."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        database = services(app).database
        departments = await add_departments(app, "Sales", "Finance")
        # Six Sales colleagues did the check; one of them twice (only the latest counts), and
        # Finance answers must not leak into a brief for Sales.
        ids = await add_respondents(database, departments["Sales"], SALES_ANSWERS, prefix="sales")
        await add_respondents(
            database,
            departments["Sales"],
            [("social_business", "integration", ("role_loss",))],
            prefix="sales",
            when=now - timedelta(days=40),
        )
        await add_respondents(
            database,
            departments["Finance"],
            [("social_business", "integration", ("role_loss",))] * 5,
            prefix="finance",
        )
        admin = api.user(ADMIN, "Admin", "en")
        anna = api.user(ANNA, "Anna", "en")

        code = await invite_link(admin, "champion", "Anna (Sales)")
        answer = await become(anna, code, department="Sales")
        assert "you're now a champion" in answer
        async with database.transaction() as repo:
            person = await repo.people.person_for_update("telegram", str(ANNA), create=False)
            assert person is not None and person.role == Role.CHAMPION

        starts = _wall_clock_in_days(now, 3, 14)
        done = await schedule(
            admin,
            when=typed(starts),
            place="Room 4.12 <Atrium> & co",
            departments=["Sales"],
            champions=["Anna (Sales)"],
        )
        assert "Planned: #1" in done and "Room 4.12 <Atrium> & co" in done
        sessions = await session_rows(database)
        assert len(sessions) == 1 and sessions[0]["starts_at"] == starts

        rows = await nudge_rows(database)
        person_id = rows[0]["person_id"]
        assert sorted((r["kind"], r["offset_minutes"]) for r in rows) == [
            ("brief", -1440),
            ("brief", -60),
            ("followup", 120),
        ]
        assert {r["person_id"] for r in rows} == {person_id}

        # Sales' colleagues joined by naming Sales themselves: an admin vouches for them (what a
        # department invite link does), else they would be in no figure (issue 14, puppets).
        async with database.engine.begin() as connection:
            await connection.execute(
                update(people_table)
                .where(people_table.c.department_id == departments["Sales"])
                .values(vouched_department_id=people_table.c.department_id)
            )

        # Nothing is due yet.
        assert (await drain(app)).sent == 0
        clock.set(starts - timedelta(days=1, minutes=1))
        assert (await drain(app)).sent == 0
        clock.set(starts - timedelta(days=1))
        assert (await drain(app)).sent == 1
        briefs = texts(api, ANNA, "Prep brief")
        assert len(briefs) == 1
        brief = briefs[0]

        # The figures are the stored assessments' (latest per person, Sales only).
        total, presence, pilot, fears = await _expected_figures(database, departments["Sales"])
        assert total == len(ids) == len(SALES_ANSWERS)
        assert f"{total} colleagues have done the check" in brief
        # Taken from the released report: a phase of 1..4 colleagues is "x" (issue 14: a cell of one
        # person was printed), anything else its count or "x" when hiding it protects a small one.
        for name, phase in (("Presence", "presence"), ("Dialogue", "dialogue"), ("Engagement", "engagement")):
            count = presence[phase]
            shown = f"{name} {count} ({_pct(count, total)}%)"
            assert f"{name} ×" in brief if 0 < count < 5 else (shown in brief or f"{name} ×" in brief)
        assert f"Pilot {pilot['pilot']} (" not in brief and "Pilot ×" in brief
        assert "×: left out, because it would describe fewer than 5 colleagues" in brief
        top = fears.most_common(1)[0]
        assert top[1] < 5 and f"Time loss ({top[1]} of {total}" not in brief  # a small cell is never named
        assert "No worry was named by enough colleagues to show it here" in brief
        assert "Fear for your role" not in brief  # Finance's fear, and the old Sales answer
        assert "Hands-on workshop" in brief  # what to invite the enthusiastic to next
        assert "Every extra contact makes the company's network more valuable" in brief
        assert "Tuesday" in brief or "at 14:00" in brief

        clock.set(starts - timedelta(hours=1))
        assert (await drain(app)).sent == 1
        assert len(texts(api, ANNA, "Prep brief")) == 2
        clock.set(starts + timedelta(hours=2))
        assert (await drain(app)).sent == 1
        followups = texts(api, ANNA, "How did it go?")
        assert len(followups) == 1
        assert (await drain(app)).claimed == 0

        await anna.tap("Report the numbers")
        assert "How many colleagues came?" in (await anna.reply())[-1].text
        await anna.send("14")
        assert "want the hands-on workshop" in (await anna.reply())[-1].text
        await anna.send("6")
        assert "14 came, 6 want the workshop" in (await anna.reply())[-1].text
        stored = (await session_rows(database))[0]
        assert (stored["attended"], stored["want_workshop"]) == (14, 6)

        rows = await nudge_rows(database)
        assert [r["status"] for r in rows] == ["sent", "sent", "sent"]
        assert Counter(r.chat_id for r in api.calls("sendMessage") if r.ok)[ANNA] == len(
            api.bot_messages(ANNA)
        )
        assert api.rejected == []


def _wall_clock_in_days(now: datetime, days: int, hour: int) -> datetime:
    from tests.test_champions_support import ZONE

    day = (now.astimezone(ZONE) + timedelta(days=days)).date()
    return local(day.year, day.month, day.day, hour)


@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_brief_for_a_group_below_min_group_shows_no_figures(clean_database_url, lang):
    """Done-when 7: three respondents with COACHBOT_MIN_GROUP=5: the brief says nothing about them."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock, min_group=5) as app:
        database = services(app).database
        departments = await add_departments(app, "Sales", "Legal")
        await add_respondents(
            database,
            departments["Legal"],
            [
                ("presence", "pilot", ("security",)),
                ("dialogue", "pilot", ("security",)),
                ("presence", "pilot", ()),
            ],
            prefix="legal",
        )
        # Plenty of answers elsewhere: they must not stand in for Legal's.
        await add_respondents(
            database, departments["Sales"], [("engagement", "coordination", ("time_loss",))] * 8, prefix="s"
        )
        admin = api.user(ADMIN, "Admin", "en")
        anna = api.user(ANNA, "Anna", lang)
        code = await invite_link(admin, "champion", "Anna")
        await become(anna, code, lang=lang)
        starts = _wall_clock_in_days(now, 2, 10)
        await schedule(admin, when=typed(starts), departments=["Legal"], champions=["Anna"])
        clock.set(starts - timedelta(hours=1))
        report = await drain(app)
        # The 24-hour brief came due in the same sweep: only the latest of the two goes.
        assert (report.sent, report.cancelled) == (1, 1)
        (brief,) = texts(api, ANNA, "Voorbereiding" if lang == "nl" else "Prep brief")
        figures_part = brief.split("\n\n", 1)[1]
        assert "%" not in brief
        assert not any(ch.isdigit() for ch in figures_part.replace(str(5), "")), figures_part
        phase_names = (
            ["Aanwezig", "Dialoog", "Betrokkenheid", "Pilot"]
            if lang == "nl"
            else ["Presence", "Dialogue", "Engagement", "Pilot"]
        )
        assert not any(name in brief for name in phase_names)
        assert ("Nog te weinig antwoorden" if lang == "nl" else "Too few answers yet") in brief
        # The usual worries are still turned into uses, without figures.
        assert ("Tijdverlies" if lang == "nl" else "Time loss") in brief


async def test_invite_refusals_grant_no_role(clean_database_url):
    """Done-when 5: expired, reused and forged codes each get their own refusal; no role given."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        database = services(app).database
        admin = api.user(ADMIN, "Admin", "en")
        # Made eight days ago (the link lives seven): expired by now.
        clock.set(now - timedelta(days=8))
        stale_code = await invite_link(admin, "champion")
        clock.set(now)
        fresh_code = await invite_link(admin, "admin", "Ben")

        late = api.user(6001, "Late", "en")
        assert "expired" in await become(late, stale_code)
        ben = api.user(BEN, "Ben", "en")
        assert "you're now an admin" in await become(ben, fresh_code)
        again = api.user(6002, "Again", "en")
        assert "already been used" in await become(again, fresh_code)
        forger = api.user(6003, "Forger", "en")
        forged = fresh_code[:-4] + ("AAAA" if not fresh_code.endswith("AAAA") else "BBBB")
        assert "isn't valid" in await become(forger, forged)
        stranger = api.user(6004, "Stranger", "en")
        await stranger.send("/start not-a-code")
        assert "isn't valid" in (await stranger.reply())[0].text

        async with database.engine.connect() as connection:
            roles = dict(
                (await connection.execute(select(people_table.c.external_id, people_table.c.role))).all()
            )
        assert roles[str(BEN)] == "admin"
        for user_id in (6001, 6002, 6003, 6004):
            assert roles[str(user_id)] == "employee"
        # The stored invites hold no code, only hashes.
        async with database.engine.connect() as connection:
            from bot.storage.models import invites_table

            hashes = (await connection.execute(select(invites_table.c.code_hash))).scalars().all()
        assert fresh_code not in hashes and stale_code not in hashes and all(len(h) == 64 for h in hashes)
        assert api.rejected == []


async def test_roles_listing_revoking_and_permissions(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        admin = api.user(ADMIN, "Admin", "en")
        anna = api.user(ANNA, "Anna", "en")
        eva = api.user(EVA, "Eva", "en")
        await onboard(eva)
        await eva.send("/invite champion")
        assert "admins only" in (await eva.reply())[0].text
        await eva.send("/schedule")
        assert "champions and admins" in (await eva.reply())[0].text

        await become(anna, await invite_link(admin, "champion", "Anna <Sales>"))
        await anna.send("/invite champion")
        assert "admins only" in (await anna.reply())[0].text
        await admin.send("/roles")
        listing = (await admin.reply())[0].text
        assert "Anna <Sales>: champion" in listing
        starts = _wall_clock_in_days(now, 5, 9)
        await schedule(admin, when=typed(starts), champions=["Anna <Sales>"])
        await admin.send("/revoke")
        await admin.reply()
        await admin.tap("Anna <Sales> (champion)")
        assert "no longer champion" in (await admin.reply())[-1].text
        rows = await nudge_rows(services(app).database)
        assert {r["status"] for r in rows} == {"cancelled"}
        await anna.send("/schedule")
        assert "champions and admins" in (await anna.reply())[0].text
        assert api.rejected == []


async def test_reminders_for_opted_in_employees_of_the_departments(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        await add_departments(app, "Sales", "Finance")
        admin = api.user(ADMIN, "Admin", "en")
        eva = api.user(EVA, "Eva", "en")
        ben = api.user(BEN, "Ben", "nl")
        finn = api.user(6010, "Finn", "en")
        await onboard(eva, department="Sales")
        await onboard(ben, "nl", department="Sales")
        await onboard(finn, department="Finance")
        for person, label in ((eva, "Remind me"), (finn, "Remind me")):
            await person.send("/sessions")
            await person.reply()
            await person.tap(label)
            assert "remind you" in (await person.reply())[-1].text
        starts = _wall_clock_in_days(now, 4, 15)
        await schedule(admin, when=typed(starts), departments=["Sales"], champions=["You"])
        clock.set(starts - timedelta(hours=24))
        await drain(app)
        (reminder,) = texts(api, EVA, "Reminder")
        assert "Room 4.12" in reminder
        assert texts(api, 6010, "Reminder") == []  # Finance is not invited
        assert texts(api, BEN, "Herinnering") == []  # did not opt in
        await eva.send("/sessions")
        listing = (await eva.reply())[0].text
        assert "#1" in listing and "for Sales" in listing
        # Opting out cancels what is still pending.
        await eva.tap("No more session reminders")
        await eva.reply()
        assert api.rejected == []


async def test_recheck_offer_and_opting_out_for_good(clean_database_url):
    now = local(2027, 1, 12, 11)  # a Tuesday morning
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock, recheck_weeks=6) as app:
        database = services(app).database
        eva = api.user(EVA, "Eva", "en")
        ben = api.user(BEN, "Ben", "en")
        await onboard(eva)
        await onboard(ben)
        async with database.transaction() as repo:
            for user_id, age in ((EVA, 43), (BEN, 20)):
                person = await repo.people.person_for_update("telegram", str(user_id), create=False)
                from bot.domain import Assessment

                await repo.assessments.add_assessment(
                    Assessment(
                        person.id,
                        1,
                        "presence",
                        "pilot",
                        (),
                        (),
                        None,
                        {},
                        assessed_at=now - timedelta(days=age),
                    )
                )
        report = await drain(app)
        assert report.planned == 1 and report.sent == 1
        assert len(texts(api, EVA, "since your last check")) == 1
        assert texts(api, BEN, "since your last check") == []
        assert (await drain(app)).planned == 0  # offered once per check
        await eva.tap("Don't offer this again")
        assert "won't offer" in (await eva.reply())[-1].text
        async with database.engine.connect() as connection:
            opted = (
                await connection.execute(
                    select(people_table.c.recheck_opt_out).where(people_table.c.external_id == str(EVA))
                )
            ).scalar_one()
        assert opted is True
        rows = [r for r in await nudge_rows(database) if r["kind"] == NudgeKind.RECHECK]
        assert [r["status"] for r in rows] == ["sent"]
        # Ben's check ages too; he takes the offer.
        clock.set(now + timedelta(weeks=4))
        assert (await drain(app)).planned == 1
        await ben.tap("Take the check again")
        replies = await ben.reply()
        assert any(m.buttons() for m in replies)
        assert api.rejected == []


async def test_the_scheduling_dialogue_survives_a_restart_and_cancel_stops_it(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _wall_clock_in_days(now, 4, 11)
    async with BotApiDouble() as api:
        admin = api.user(ADMIN, "Admin", "en")
        async with champion_bot(api, clean_database_url, clock):
            await admin.send("/schedule")
            await admin.reply()
            await admin.tap("Hands-on workshop")
            assert "When does it start?" in (await admin.reply())[-1].text
        async with champion_bot(api, clean_database_url, clock) as app:
            await admin.send(typed(starts))
            assert "Where?" in (await admin.reply())[-1].text
            await admin.send("Teams: https://example.org/room?a=1&b=2")
            assert "Who is it for?" in (await admin.reply())[-1].text
            await admin.send("hello")  # a tap is expected here: the question comes again
            replies = await admin.reply()
            assert "one of the options" in replies[0].text and "Who is it for?" in replies[-1].text
            await admin.send("/cancel")
            assert "Stopped" in (await admin.reply())[-1].text
            assert await session_rows(services(app).database) == []
            await admin.send("free text after the dialogue")  # the coach's again
            assert "Stopped" not in (await admin.reply())[-1].text
            # An old button of the stopped dialogue changes nothing.
            await admin.tap("The whole organisation")
            await api.settle()
            assert admin.last_callback_answer().text == "That question has moved on."
        assert api.rejected == []


async def test_typed_input_problems_keep_the_dialogue_where_it_was(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock):
        admin = api.user(ADMIN, "Admin", "nl")
        await admin.send("/schedule")
        await admin.reply()
        await admin.tap("Inspiratiesessie")
        await admin.reply()
        for text, expected in (
            ("volgende week", "kon ik niet als datum en tijd lezen"),
            ("1-1-2020 10:00", "al voorbij"),
            ("x" * 10, "kon ik niet"),
        ):
            await admin.send(text)
            assert expected in (await admin.reply())[-1].text
        await admin.send(typed(_wall_clock_in_days(now, 3, 9)))
        assert "Waar?" in (await admin.reply())[-1].text
        assert api.rejected == []


async def test_a_redelivered_invite_command_makes_one_invite(clean_database_url):
    clock = ManualClock(datetime.now(UTC))
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        admin = api.user(ADMIN, "Admin", "en")
        update_id = await admin.send("/invite champion Anna")
        await admin.reply()
        await api.redeliver(update_id)
        await api.settle()
        from bot.storage.models import invites_table

        async with services(app).database.engine.connect() as connection:
            count = len((await connection.execute(select(invites_table.c.id))).all())
        assert count == 1
        assert len(texts(api, ADMIN, "Invite #")) == 1


async def test_every_button_fits_telegrams_callback_data_limit(clean_database_url):
    """Buttons carry ids, never payloads; the double refuses anything over 64 bytes."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        names = [f"Afdeling {'ë' * 20} {i}" for i in range(12)]
        await add_departments(app, *names)
        admin = api.user(ADMIN, "Admin", "en")
        await admin.send("/schedule")
        await admin.reply()
        await admin.tap("Inspiration session")
        await admin.reply()
        await admin.send(typed(_wall_clock_in_days(now, 3, 9)))
        await admin.reply()
        await admin.send("Room")
        await admin.reply()
        await admin.tap(names[3])
        await admin.reply()
        data = [b["callback_data"] for m in api.bot_messages(ADMIN) for b in m.inline_buttons()]
        assert data and all(len(d.encode()) <= 64 for d in data)
        # Every button decodes: an answer button of a session dialogue (the engine's token, which
        # the coach hands to the desk's dialogues) or one of the desk's own typed callbacks.
        for d in data:
            token = ChoiceToken.decode(d)
            if token is not None:
                assert token.step.startswith("session_"), d
            else:
                assert callbacks.owner_of(d) == callbacks.DESK and callbacks.decode(d) is not None, d
        assert api.rejected == []


async def _until(api, chat_id, marker):
    """The bot's messages (or edits) in a chat once one contains `marker`; replies to one person
    are paced a second apart, so this waits for them rather than for quiet."""
    for _ in range(100):
        found = texts(api, chat_id, marker)
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{marker!r} never came")


async def _up_to_the_confirmation(admin, starts, *, departments, champions):
    await admin.send("/schedule")
    await admin.reply()
    await admin.tap("Inspiration session")
    await admin.reply()
    await admin.send(typed(starts))
    await admin.reply()
    await admin.send("Room 4.12")
    await admin.reply()
    for name in departments:
        await admin.tap(name)
        await admin.reply()
    await admin.tap("Done")
    await admin.reply()
    for label in champions:
        await admin.tap(label)
        await admin.reply()
    await admin.tap("Done")
    await admin.reply()


async def test_a_department_removed_before_yes_is_said_and_chosen_again(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        database = services(app).database
        departments = await add_departments(app, "Sales", "Finance")
        admin = api.user(ADMIN, "Admin", "en")
        await _up_to_the_confirmation(
            admin, _wall_clock_in_days(now, 3, 10), departments=["Sales"], champions=["You"]
        )
        async with database.transaction() as repo:
            await repo.departments.remove_department(departments["Sales"])
        # Not a failure on every "Yes": what changed is said, and that question comes again.
        await admin.tap("Yes, that's it")
        await _until(api, ADMIN, "no longer exists")
        await admin.reply()
        assert "Who is it for?" in (api.bot_messages(ADMIN)[-1].text or "")
        assert await session_rows(database) == []
        await admin.tap("Finance")
        await admin.reply()
        await admin.tap("Done")
        await admin.reply()
        await admin.tap("Done")  # the champions: still "You"
        await admin.reply()
        await admin.tap("Yes, that's it")
        await _until(api, ADMIN, "Planned: #1")
        assert len(await session_rows(database)) == 1
        assert api.rejected == []


async def test_a_champion_who_used_forget_before_yes_is_said_and_chosen_again(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        database = services(app).database
        admin = api.user(ADMIN, "Admin", "en")
        anna = api.user(ANNA, "Anna", "en")
        code = await invite_link(admin, "champion", "Anna")
        await become(anna, code)
        await _up_to_the_confirmation(
            admin, _wall_clock_in_days(now, 3, 10), departments=(), champions=["Anna"]
        )
        await anna.send("/forget")
        await anna.reply()
        await anna.tap("Yes, erase everything")
        await anna.reply()
        await admin.tap("Yes, that's it")
        await _until(api, ADMIN, "can no longer run sessions")
        await admin.reply()
        assert "Who runs it?" in (api.bot_messages(ADMIN)[-1].text or "")
        assert await session_rows(database) == []
        await admin.tap("You")
        await admin.reply()
        await admin.tap("Done")
        await admin.reply()
        await admin.tap("Yes, that's it")
        await _until(api, ADMIN, "Planned: #1")
        assert api.rejected == []


async def test_the_command_menus_are_the_command_table_per_language_and_role(clean_database_url):
    clock = ManualClock(datetime.now(UTC))
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        catalog = services(app).catalog
        everyone = commands.menu(Role.EMPLOYEE)
        admins = commands.menu(Role.ADMIN)
        for lang, code in (("en", ""), ("nl", "nl")):
            default = api.commands[(json.dumps({"type": "default"}), code)]
            assert default == [
                {"command": c.name, "description": catalog.renderer.render(lang, c.about)} for c in everyone
            ]
            scope = json.dumps({"chat_id": ADMIN, "type": "chat"}, sort_keys=True)
            assert [c["command"] for c in api.commands[(scope, code)]] == [c.name for c in admins]
        assert "schedule" not in {c.name for c in everyone}
        assert {"report", "export", "invite", "roles", "revoke", "schedule"} <= {c.name for c in admins}
        assert api.rejected == []
