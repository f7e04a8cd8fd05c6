"""Figure 3: engine steps per second without Telegram, and memory per person holding a position.

    python bench/engine_memory.py [--quick] [--people 100000]

Speed: full checks (Begin onboarding, then every answer of tests/support/webhook_driver.script_for,
a multi-select as a tap plus "done": 21 turns a check) through DialogueEngine.turn, the pure
engine the coach runs for every update; then the same checks through Coach.handle (engine, SQLite
transaction, rendering; no Telegram) for scale.

Memory: each variant runs in a fresh process and brings --people people to the first phase
question (Begin + 4 onboarding answers: 5 turns each), then reads the growth of the process's RSS:
- coach: what the coach keeps between turns: nothing per person. Positions live in the database;
  the engine's one shared machine per dialogue holds no person (DialogueMachine.attached == 0).
  Each turn's result is dropped, as the coach drops it after writing it.
- positions: the same, but every person's Position object kept in a dict: what an in-memory
  position cache would cost (the upper bound if the coach ever held positions).
- machine per person (for context; FACTS.md says never): a `transitions` Machine per person with
  the onboarding dialogue's states and transitions, as conventional state-machine code does.
  Measured on --people/20 people and divided by those people.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PYTHON, ROOT, machine, process_rss, table, verdict
from bot import PROJECT_ROOT
from bot.content.catalog import Catalog, load_catalog
from bot.engine.engine import idle_position
from bot.engine.events import DONE, Begin, Choose, Event
from tests.support.webhook_driver import script_for

ONBOARDING_ANSWERS = 4


def _catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")


def check_events(catalog: Catalog, index: int) -> list[tuple[str, str]]:
    """(step, option) taps of person `index`'s full check; multi-select steps end with DONE."""
    taps: list[tuple[str, str]] = []
    kinds = {s.id: s.kind for d in catalog.dialogues.values() for s in d.steps.values()}
    for step, key in script_for(index).answers:
        taps.append((step, str(key)))
        if kinds[step] == "multi":
            taps.append((step, DONE))
    return taps


def run_check(catalog: Catalog, person_id: int, taps: list[tuple[str, str]]) -> int:
    """One full check through the engine; returns the number of turns."""
    engine = catalog.engine
    position = idle_position(person_id)
    events: list[Event] = [Begin("onboarding")] + [Choose(0, s, k) for s, k in taps]
    for event in events:
        result = engine.turn(position, event)
        if result.problem is not None:
            raise RuntimeError(f"engine refused {event}: {result.problem}")
        position = result.position
    if position.state != "end" and catalog.engine.current_step(position) is not None:
        raise RuntimeError(f"check did not finish: {position.dialogue}/{position.state}")
    return len(events)


def engine_speed(catalog: Catalog, seconds: float) -> tuple[int, float]:
    scripts = [check_events(catalog, i) for i in range(48)]
    turns = 0
    started = time.process_time()
    person = 0
    while time.process_time() - started < seconds:
        turns += run_check(catalog, person, scripts[person % len(scripts)])
        person += 1
    return turns, time.process_time() - started


async def coach_speed(catalog: Catalog, checks: int) -> tuple[int, float]:
    """Full checks through Coach.handle on a fresh SQLite file: the coach without Telegram."""
    from bot.coach import Coach
    from bot.conversation import Start, Tap, Visitor
    from bot.engine.choice_token import ChoiceToken
    from bot.settings import load_settings
    from bot.storage.database import Database

    directory = tempfile.mkdtemp(prefix="coachbot-bench-")
    database = Database(f"sqlite+aiosqlite:///{directory}/coach.db")
    await database.ensure_schema()
    coach = Coach(database, catalog, load_settings(database_url="sqlite+aiosqlite://"))
    turns = 0
    elapsed = 0.0
    try:
        for index in range(checks):
            visitor = Visitor("telegram", str(900_000 + index), "en")
            started = time.process_time()
            outcome = await coach.handle(visitor, Start())
            turns += 1
            for step, key in check_events(catalog, index):
                data = _data_for(outcome, step, key)
                outcome = await coach.handle(visitor, Tap(data))
                turns += 1
                if outcome.notice:
                    raise RuntimeError(f"coach refused {step}/{key}: {outcome.notice}")
            elapsed += time.process_time() - started
    finally:
        await database.dispose()
        shutil.rmtree(directory, ignore_errors=True)
    del ChoiceToken
    return turns, elapsed


def _data_for(outcome: Any, step: str, key: str) -> str:
    """The callback data of the button for (step, key) in the outcome's messages or edit."""
    from bot.engine.choice_token import ChoiceToken

    rows = [row for message in outcome.messages for row in message.buttons]
    if outcome.edit is not None:
        rows += list(outcome.edit.buttons)
    for row in rows:
        for button in row:
            token = ChoiceToken.decode(button.data)
            if token is not None and token.step == step and token.option == key:
                return str(button.data)
    raise LookupError(f"no button {step}/{key}")


# -- memory (each variant in its own process) ---------------------------------------------------


def _onboarding(catalog: Catalog, person_id: int, taps: list[tuple[str, str]]) -> Any:
    engine = catalog.engine
    result = engine.turn(idle_position(person_id), Begin("onboarding"))
    for step, key in taps[:ONBOARDING_ANSWERS]:
        result = engine.turn(result.position, Choose(0, step, key))
    return result.position


def _machine_per_person(catalog: Catalog) -> Any:
    from transitions import Machine

    dialogue = catalog.dialogues["onboarding"]

    class Person:
        pass

    def make() -> Any:
        model = Person()
        machine = Machine(
            model=model,
            states=[*dialogue.steps, "end"],
            initial=dialogue.start,
            auto_transitions=False,
        )
        for step in dialogue.steps.values():
            for rule in step.next:
                machine.add_transition("proceed", step.id, rule.target)
        return model

    return make


def memory_variant(variant: str, people: int) -> dict[str, Any]:
    catalog = _catalog()
    taps = [check_events(catalog, i) for i in range(12)]
    make = _machine_per_person(catalog)
    # warm every code path once, so first-use allocations are not counted as people
    _onboarding(catalog, 1, taps[0])
    make()
    gc.collect()
    before = process_rss()
    kept: dict[int, Any] = {}
    for person_id in range(1, people + 1):
        if variant == "coach":
            _onboarding(catalog, person_id, taps[person_id % 12])  # result dropped, as the coach does
        elif variant == "positions":
            kept[person_id] = _onboarding(catalog, person_id, taps[person_id % 12])
        else:
            model = make()
            model.proceed()  # language -> privacy
            kept[person_id] = model
    gc.collect()
    grown = process_rss() - before
    attached = sum(m.attached for m in catalog.engine.machines.values())
    return {"variant": variant, "people": people, "bytes": grown, "attached": attached, "kept": len(kept)}


def _memory(variant: str, people: int) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, __file__, "--variant", variant, "--people", str(people)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="CPU seconds of engine turns")
    parser.add_argument("--checks", type=int, default=200, help="full checks through Coach.handle")
    parser.add_argument("--variant", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(memory_variant(args.variant, args.people)))
        return
    if args.quick:
        args.people, args.seconds, args.checks = 2_000, 0.3, 3

    print(f"machine: {machine()}")
    catalog = _catalog()
    turns, cpu = engine_speed(catalog, args.seconds)
    coach_turns, coach_cpu = asyncio.run(coach_speed(catalog, args.checks))
    print()
    print(
        table(
            ["what", "turns", "CPU s", "turns/s", "µs/turn"],
            [
                ("DialogueEngine.turn (full checks)", turns, cpu, turns / cpu, 1e6 * cpu / turns),
                (
                    "Coach.handle: engine + SQLite + rendering",
                    coach_turns,
                    coach_cpu,
                    coach_turns / coach_cpu,
                    1e6 * coach_cpu / coach_turns,
                ),
            ],
            title="Engine speed without Telegram (one core, process CPU):",
        )
    )
    rows = []
    results = {}
    for variant, people in (
        ("coach", args.people),
        ("positions", args.people),
        ("machine", max(100, args.people // 20)),
    ):
        result = _memory(variant, people)
        results[variant] = result
        rows.append(
            (
                {
                    "coach": "coach: nothing kept between turns (positions in the DB)",
                    "positions": "Position objects kept in memory",
                    "machine": "a transitions Machine per person (context)",
                }[variant],
                result["people"],
                result["bytes"] / 2**20,
                result["bytes"] / result["people"],
            )
        )
    print()
    print(
        table(
            ["variant", "people", "RSS growth MB", "bytes/person"],
            rows,
            title="Memory per person holding a position (fresh process each; RSS growth ÷ people):",
        )
    )
    coach_bytes = results["coach"]["bytes"] / results["coach"]["people"]
    held_bytes = results["positions"]["bytes"] / results["positions"]["people"]
    print()
    print(
        table(
            ["figure", "result", "target", "met?"],
            [
                ("engine turns per second", f"{turns / cpu:,.0f}", "–", "–"),
                (
                    "memory per person holding a position (coach)",
                    f"{coach_bytes:,.0f} B",
                    "< 2 KB",
                    verdict(coach_bytes < 2048),
                ),
                (
                    "… if positions were kept in memory",
                    f"{held_bytes:,.0f} B",
                    "< 2 KB",
                    verdict(held_bytes < 2048),
                ),
                ("machine models attached after the run", results["coach"]["attached"], "0", "–"),
            ],
            title="Against the targets:",
        )
    )
    print("\nnote: 2 shared cores, noisy; RSS growth includes the allocator's own slack.")


if __name__ == "__main__":
    main()
