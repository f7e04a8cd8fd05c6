"""How well the coach understands typed answers: topics in free text, options typed at button questions.

    python bench/typed_answers.py            # figures for the dev and held-out parts
    python bench/typed_answers.py --misses   # and every miss of the dev part, to tune the lexicons

Reads tests/data/typed_answers.yaml (free text labelled with topic ids) and
tests/data/typed_answers_options.yaml (typed answers labelled with the option they mean).
Prints precision and recall per topic and exact-match accuracy (all topics right, none extra) on each
part, and for options the share taken right, asked back, wrongly taken and rightly left alone.
The held-out part is never tuned on, so its misses are never printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.understanding import match_option, understand  # noqa: E402
from bot.understanding.evaluation import (  # noqa: E402
    OptionCase,
    OptionScore,
    TopicCase,
    TopicScore,
    load_option_cases,
    load_topic_cases,
    score_options,
    score_topics,
)
from bot.understanding.lexicon import FOLDER, load_lexicon  # noqa: E402
from bot.understanding.options import step_options  # noqa: E402

PARTS = ("dev", "heldout")


@dataclass(frozen=True)
class Args:
    misses: bool
    quick: bool


def _topic_table(name: str, score: TopicScore) -> list[str]:
    lines = [
        f"## free text, {name}: {score.cases} answers ({score.by_lang['nl']} nl, {score.by_lang['en']} en)",
        "",
        "| topic | precision | recall | support |",
        "|---|---|---|---|",
    ]
    for topic in score.topics:
        precision, recall, support = score.per_topic[topic]
        lines.append(f"| {topic} | {_pct(precision)} | {_pct(recall)} | {support} |")
    lines += [
        f"| **all topics (micro)** | **{_pct(score.precision)}** | **{_pct(score.recall)}** "
        f"| {score.support} |",
        "",
        f"exact match: **{_pct(score.exact)}** ({score.exact_count}/{score.cases}); "
        f"nl {_pct(score.exact_by_lang['nl'])}, en {_pct(score.exact_by_lang['en'])}; "
        f"answers with no topic left empty: {_pct(score.empty_right)}",
        "",
    ]
    return lines


def _option_table(name: str, score: OptionScore) -> list[str]:
    return [
        f"## typed answers at button questions, {name}: {score.cases} answers",
        "",
        "| outcome | share |",
        "|---|---|",
        f"| right option, taken (high confidence) | {_pct(score.taken_right / score.cases)} |",
        f"| right option, asked back (lower confidence) | {_pct(score.asked_right / score.cases)} |",
        f"| wrong option (taken or asked back) | {_pct(score.wrong / score.cases)} |",
        f"| no option, rightly (off-topic or ambiguous) | {_pct(score.none_right / score.cases)} |",
        f"| no option, though one was meant | {_pct(score.none_wrong / score.cases)} |",
        "",
        f"right (taken, asked back or rightly none): **{_pct(score.accuracy)}**; "
        f"precision of what is taken without asking: **{_pct(score.taken_precision)}**",
        "",
    ]


def _speed(topic_cases: Sequence[TopicCase], option_cases: Sequence[OptionCase]) -> list[str]:
    """CPU per call on this (shared, noisy) machine: what an update with typed text adds."""
    started = time.process_time()
    load_lexicon(ROOT / "knowledge" / FOLDER)
    loading = time.process_time() - started
    options = step_options(ROOT / "dialogues")
    rounds = 5
    started = time.process_time()
    for _ in range(rounds):
        for case in topic_cases:
            understand(case.text, case.lang)
    per_text = (time.process_time() - started) / (rounds * len(topic_cases))
    started = time.process_time()
    for _ in range(rounds):
        for option_case in option_cases:
            match_option(option_case.text, option_case.lang, options[option_case.step], option_case.step)
    per_option = (time.process_time() - started) / (rounds * len(option_cases))
    return [
        "## speed (CPU time, this machine)",
        "",
        f"loading the lexicons once: {1000 * loading:.0f} ms; "
        f"`understand`: {1000 * per_text:.2f} ms per answer; "
        f"`match_option`: {1000 * per_option:.2f} ms per answer",
        "",
    ]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print the dev part's misses")
    # Every bench script takes --quick (the smoke test runs them so); this one is seconds already.
    parser.add_argument("--quick", action="store_true", help="the same run: it takes seconds anyway")
    args = Args(**vars(parser.parse_args(argv)))
    topic_cases = load_topic_cases()
    option_cases = load_option_cases()
    lines: list[str] = []
    for part in PARTS:
        lines += _topic_table(part, score_topics(topic_cases[part]))
    for part in PARTS:
        lines += _option_table(part, score_options(option_cases[part]))
    lines += _speed(
        [c for part in PARTS for c in topic_cases[part]], [c for part in PARTS for c in option_cases[part]]
    )
    print("\n".join(lines))
    if args.misses:
        print("## dev misses (free text)")
        for miss in score_topics(topic_cases["dev"]).misses:
            print(f"- [{miss.lang}] {miss.text!r}: expected {list(miss.expected)}, heard {list(miss.heard)}")
        print("\n## dev misses (options)")
        for miss in score_options(option_cases["dev"]).misses:
            print(f"- {miss.step} [{miss.lang}] {miss.text!r}: expected {miss.expected}, got {miss.got}")
    counts = Counter(case.lang for part in PARTS for case in topic_cases[part])
    print(f"\n({sum(counts.values())} labelled free-text answers: {counts['nl']} nl, {counts['en']} en)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
