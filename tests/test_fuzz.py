"""Hostile input: at least 10,000 generated updates through the real stack.

Any Unicode, any length, random callback_data, unknown update kinds, wrong chat types: no
handler error, no request the Bot API double rejects, and a normal check completes afterwards.
Hypothesis runs in a thread; the double and the webhook worker run on the test's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.channels.telegram.application import build_application
from bot.channels.telegram.runner import start_webhook_worker, stop_webhook_worker
from bot.engine.choice_token import ChoiceToken
from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import settings_for
from tests.support.webhook_driver import SECRET, build, deliver, free_port, post, script_for

TOTAL = 10_000
#: Updates per Hypothesis example, dealt to the people in turn; each person's go in order, different
#: people's at once (as Telegram's parallel webhook connections deliver them). The bot keeps Telegram's
#: gap of about a second between messages to one chat, so when Hypothesis drew the person (its simplest
#: examples give everything to one) and updates went one by one, the run waited out that gap on most
#: updates: 47 s per 50 updates. Dealt out, forty people get ~250 updates each over the run.
PER_EXAMPLE = 50
USERS = [61_000 + i for i in range(40)]
GROUP, SUPERGROUP, CHANNEL = -4_000_001, -1_004_000_002, -1_004_000_003

#: Texts over Telegram's lengths, built by repeating a short random piece: drawing 4,000 random
#: characters cost Hypothesis ~90 ms per update (most of the run) and overran its example buffer.
long_texts = st.tuples(st.text(min_size=1, max_size=40), st.integers(4000, 5000)).map(
    lambda piece: (piece[0] * (5000 // len(piece[0]) + 1))[: piece[1]]
)
texts = (
    st.text(max_size=300)
    | long_texts
    | st.sampled_from(
        [
            "/start",
            "/check",
            "/advice",
            "/forget",
            "/mydata",
            "/cancel",
            "/help",
            "/language",
            "/privacy",
            "/start abc",
            "/unknown",
            "/",
            "1",
            "Almost everyone",
            "<b>x</b>",
            "&amp;",
            "\x00\x1b[31m",
        ]
    )
)
callback_data = (
    st.text(max_size=80)
    | st.builds(
        lambda v, s, o: ChoiceToken(v, s, o).encode(),
        st.integers(0, 30),
        st.sampled_from(["who_uses", "fears", "language", "privacy", "x" * 40]),
        st.sampled_from(["everyone", "done", "none", "en", "yes", "ü"]),
    )
    | st.sampled_from(["a|forget|yes", "a|lang|nl", "a|forget", "a|", "c", ""])
)


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    """One update of any kind the fuzzer knows; the builder turns it into a Telegram payload."""
    return {
        "kind": draw(
            st.sampled_from(
                [
                    "text",
                    "text",
                    "text",
                    "tap",
                    "tap",
                    "sticker",
                    "photo",
                    "voice",
                    "location",
                    "document",
                    "edited",
                    "group",
                    "supergroup",
                    "channel",
                    "unknown",
                    "my_chat_member",
                ]
            )
        ),
        "text": draw(texts),
        "data": draw(callback_data),
        "junk": draw(st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=10), max_size=3)),
    }


def _payload(api: BotApiDouble, spec: dict[str, Any]) -> dict[str, Any]:
    user = api.user(user_id=spec["user"], language_code="nl" if spec["user"] % 2 else "en")
    kind = spec["kind"]
    if kind == "text":
        return user.text_update(spec["text"])
    if kind == "tap":
        messages = user.messages
        message_id = messages[-1].message_id if messages else 1
        return user.callback_update(message_id, spec["data"])
    if kind in ("sticker", "photo", "voice", "location", "document"):
        return getattr(user, kind)()
    if kind == "edited":
        try:
            return user.edit_last(spec["text"] or "x")
        except LookupError:  # nothing typed yet to edit: type something first
            return user.text_update(spec["text"])
    if kind == "group":
        return api.group_message(GROUP, user, spec["text"] or "/check")
    if kind == "supergroup":
        update = api.group_message(SUPERGROUP, user, spec["text"] or "hi")
        update["message"]["chat"]["type"] = "supergroup"
        return update
    if kind == "channel":
        return api.channel_post(spec["text"] or "post", chat_id=CHANNEL)
    if kind == "my_chat_member":
        return user.my_chat_member("member", "kicked")
    return {"some_future_update_kind": spec["junk"]}


@pytest.mark.slow
async def test_ten_thousand_hostile_updates(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
    async with BotApiDouble() as api:
        for user_id in USERS:
            api.user(user_id=user_id, language_code="nl" if user_id % 2 else "en")
        api.group(GROUP)
        application = build_application(settings_for(api, url), webhook=True)
        port = free_port()
        runner = await start_webhook_worker(application, "127.0.0.1", port, "hook", SECRET)
        hook = f"http://127.0.0.1:{port}/hook"
        loop = asyncio.get_running_loop()
        statuses: list[int] = []
        try:
            async with aiohttp.ClientSession() as session:

                async def send_all(specs: list[dict[str, Any]]) -> None:
                    per_person: dict[int, list[dict[str, Any]]] = {}
                    for index, spec in enumerate(specs, start=len(statuses)):
                        person = USERS[index % len(USERS)]
                        per_person.setdefault(person, []).append({**spec, "user": person})

                    async def in_order(own: list[dict[str, Any]]) -> None:
                        for spec in own:
                            statuses.append(await post(session, hook, api.stamp(_payload(api, spec))))

                    await asyncio.gather(*(in_order(own) for own in per_person.values()))

                @settings(
                    max_examples=TOTAL // PER_EXAMPLE,
                    deadline=None,
                    database=None,
                    # A stress run: report a failure as found; shrinking would replay thousands of updates.
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=list(HealthCheck),
                )
                @given(st.lists(updates(), min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
                def fuzz(specs: list[dict[str, Any]]) -> None:
                    asyncio.run_coroutine_threadsafe(send_all(specs), loop).result(timeout=300)

                while len(statuses) < TOTAL:  # Hypothesis may discard examples; keep going to the count
                    await asyncio.to_thread(fuzz)

                # Afterwards a normal check still completes, for a newcomer and a fuzzed person.
                for user_id, index in ((62_000, 1), (USERS[0], 2)):
                    user = api.user(user_id=user_id, language_code="en")
                    await deliver(session, [hook], api.stamp(user.text_update("/forget")), 0)
                    confirm = user.last_message()
                    if confirm is not None and confirm.inline_buttons():
                        # The first button erases, in whichever language the fuzz left the person.
                        erase = str(confirm.inline_buttons()[0]["callback_data"])
                        await deliver(
                            session, [hook], api.stamp(user.callback_update(confirm.message_id, erase)), 0
                        )
                    for step in script_for(index).steps:
                        await deliver(session, [hook], build(api, user, step), 0)
                    assert "Where you stand" in (user.last_text() or ""), user_id
        finally:
            await stop_webhook_worker(application, runner)
    assert len(statuses) >= TOTAL
    assert set(statuses) <= {200}, sorted(set(statuses))
    assert api.rejected == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], errors[:3]
