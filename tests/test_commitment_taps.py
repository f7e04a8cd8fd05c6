"""Commitment buttons that are old, forged or someone else's change nothing and get a short notice;
the codec refuses what it did not make. On SQLite and PostgreSQL, through the coach."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import PROJECT_ROOT
from bot.coach import Coach
from bot.commitment_taps import COMMIT, NOT_NOW, OUTCOME, SHARE, CommitmentTap
from bot.content.catalog import load_catalog
from bot.conversation import Command, Tap
from bot.settings import load_settings
from bot.storage.database import Database
from bot.storage.models import commitments_table
from tests.test_coaching import LEVEL_ANSWERS, Chat


@pytest.fixture
def coach(database: Database) -> Coach:
    return Coach(
        database, load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge"), load_settings()
    )


STALE = "That question has moved on."


async def _count(coach: Coach) -> int:
    async with coach.store.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(commitments_table)) or 0)


async def _advised(coach: Coach, external_id: str) -> Chat:
    chat = Chat(coach, external_id)
    await chat.onboard("en")
    await chat.check(LEVEL_ANSWERS[2])
    return chat


def test_the_codec_reads_only_what_it_made() -> None:
    made = CommitmentTap(COMMIT, 12, "employee_share_a_tip")
    assert CommitmentTap.decode("cm", made.encode().split("|")[2]) == made
    for name, value in (
        ("cm", "12"),  # no step
        ("cm", "x.employee_share_a_tip"),  # not a number
        ("cm", "1" * 19 + ".a"),  # beyond any real id
        ("cm", "12.Robert'); DROP"),  # not an id
        ("fu", "12.maybe"),  # not an answer the follow-up has
        ("sh", "12.perhaps"),
        ("zz", "12.done"),
    ):
        assert CommitmentTap.decode(name, value) is None, (name, value)


async def test_not_now_stores_nothing(coach: Coach) -> None:
    chat = await _advised(coach, "8101")
    outcome = await chat.tap_label("Not now")
    assert outcome.notice == "Fine. Your step stays under /advice."
    assert await _count(coach) == 0


async def test_forged_and_foreign_commitment_buttons_change_nothing(coach: Coach) -> None:
    ann = await _advised(coach, "8102")
    bob = await _advised(coach, "8103")
    await ann.tap_label("🤝 Yes, I'll do it")
    assert "Agreed." in ann.text()
    async with coach.store.transaction(read_only=True) as repo:
        person = await repo.people.person_for_update("telegram", "8102", create=False)
        assert person is not None
        [commitment] = await repo.commitments.commitments_of(person.id)
        assert commitment.assessment_id is not None
    # Bob presses Ann's buttons (her assessment, her commitment), and buttons that never existed.
    foreign = [
        CommitmentTap(COMMIT, commitment.assessment_id, "employee_share_a_tip"),
        CommitmentTap(OUTCOME, commitment.id, "done"),
        CommitmentTap(SHARE, commitment.id, "yes"),
    ]
    for tap in foreign:
        outcome = await bob.send(Tap(tap.encode()))
        assert outcome.notice is not None and outcome.messages == (), tap
    unknown_step = await ann.send(
        Tap(CommitmentTap(COMMIT, commitment.assessment_id, "no_such_step").encode())
    )
    assert unknown_step.notice == STALE
    missing = await ann.send(Tap(CommitmentTap(OUTCOME, 999_999, "done").encode()))
    assert missing.notice == STALE
    assert (await ann.send(Tap("a|cm|12"))).notice == STALE  # malformed
    assert await _count(coach) == 1
    async with coach.store.transaction(read_only=True) as repo:
        [still] = await repo.commitments.commitments_of(commitment.person_id)
    assert (still.outcome, still.shared_at) == (None, None)
    # A commitment button under an earlier check's advice is refused like its other buttons.
    old = CommitmentTap(COMMIT, commitment.assessment_id, "employee_share_a_tip")
    await ann.send(Command("check"))
    await ann.check(LEVEL_ANSWERS[3])
    refused = await ann.send(Tap(old.encode()))
    assert refused.notice == "This belongs to an earlier check; /advice shows your latest advice."
    await ann.send(Tap(CommitmentTap(NOT_NOW, commitment.assessment_id, "x").encode()))
    assert await _count(coach) == 1
