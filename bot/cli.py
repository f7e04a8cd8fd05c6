"""`coachbot`: run the bot, chat in the terminal, validate content, maintain the organisation.

Errors an operator can fix (a missing token, broken content, an unreachable database) end with
one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot import PROJECT_ROOT
from bot.coaching.rules import check_all
from bot.content.catalog import ContentError
from bot.logs import configure_logging
from bot.settings import Settings, load_settings

EXIT_USAGE = 2
EXIT_FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coachbot", description="Social Business Coach")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the Telegram bot (long polling, or --webhook workers)")
    run.add_argument("--log-level", default="INFO")
    run.add_argument("--webhook", action="store_true", help="serve a webhook instead of polling")
    run.add_argument("--listen", default="127.0.0.1", help="address the webhook worker listens on")
    run.add_argument("--port", type=int, default=8443)
    run.add_argument("--url-path", default="telegram", help="path Telegram posts updates to")
    run.add_argument("--secret-token", default=None, help="or TELEGRAM_WEBHOOK_SECRET")

    webhook = sub.add_parser("webhook", help="register or remove the webhook with Telegram, once")
    webhook_sub = webhook.add_subparsers(dest="action", required=True)
    webhook_set = webhook_sub.add_parser("set")
    webhook_set.add_argument("url")
    webhook_set.add_argument("--secret-token", default=None, help="or TELEGRAM_WEBHOOK_SECRET")
    webhook_set.add_argument("--max-connections", type=int, default=40)
    webhook_sub.add_parser("delete")

    chat = sub.add_parser("chat", help="the coach in the terminal, no Telegram needed")
    chat.add_argument("--user", default=None, help="who you are (default: your login name)")
    chat.add_argument("--lang", choices=("nl", "en"), default=None)

    validate = sub.add_parser("validate", help="check every dialogue and knowledge file")
    validate.add_argument("--seeds", type=Path, default=None, help="seed folder, to check citations exist")

    understand = sub.add_parser("understand", help="what the coach hears in a typed text")
    understand.add_argument("text", nargs="+", help="the typed text (quote it, or give it as words)")
    understand.add_argument("--lang", choices=("nl", "en"), default="nl", help="the person's language")
    understand.add_argument("--json", action="store_true", help='print {"topics": [{"id", "confidence"}]}')
    understand.add_argument("--step", default=None, help="also match the text to this step's options")

    departments = sub.add_parser("departments", help="list and maintain the organisation's departments")
    dep_sub = departments.add_subparsers(dest="action")
    dep_sub.add_parser("list")
    add = dep_sub.add_parser("add")
    add.add_argument("names", nargs="+")
    rename = dep_sub.add_parser("rename")
    rename.add_argument("old")
    rename.add_argument("new")
    remove = dep_sub.add_parser("remove")
    remove.add_argument("name")

    report = sub.add_parser("report", help="the admin's anonymous aggregate report")
    report.add_argument("--csv", metavar="FILE", default=None, help="write the report as CSV (- for stdout)")
    report.add_argument("--chart", metavar="FILE", default=None, help="write the chart as PNG")
    report.add_argument("--lang", choices=("nl", "en"), default="en")
    report.add_argument("--months", type=int, default=6, help="months the trend covers (default 6)")

    demo = sub.add_parser("demo-data", help="fill the database with a synthetic organisation")
    demo.add_argument("--people", type=int)
    demo.add_argument(
        "--remove", action="store_true", help="remove the demo people, their departments and released figures"
    )
    demo.add_argument("--departments", type=int, default=8)
    demo.add_argument("--months", type=int, default=6)
    demo.add_argument("--seed", type=int, default=1)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="action", required=True)
    db_sub.add_parser("upgrade", help="apply the database migrations")
    return parser


def _fail(message: str, code: int = EXIT_FAILURE) -> int:
    print(f"coachbot: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        return _fail(f"invalid configuration: {where}: {first.get('msg')}", EXIT_USAGE)
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    configure_logging(
        getattr(logging, str(getattr(args, "log_level", "WARNING")).upper(), logging.WARNING), [token]
    )
    try:
        return _dispatch(args, settings)
    except ContentError as error:
        print(str(error), file=sys.stderr)
        return _fail(f"{len(error.problems)} content problem(s); run `coachbot validate`")
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        return _fail(f"{error.strerror or error}")
    except Exception as error:  # the last guard: one line for the operator, details in the log
        logging.getLogger("bot.cli").debug("command.failed", exc_info=True)
        return _fail(f"{type(error).__name__}: {_one_line(error)}")


def _one_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else ""


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "validate":
        return _validate(settings, args.seeds)
    if args.command == "understand":
        return _understand(settings, args)
    if args.command == "chat":
        return asyncio.run(_chat(settings, args.user, args.lang))
    if args.command == "departments":
        return asyncio.run(_departments(settings, args))
    if args.command == "db":
        return asyncio.run(_db_upgrade(settings))
    if args.command == "run":
        from bot.channels.telegram.runner import run_polling, run_webhook

        if args.webhook:
            return run_webhook(settings, args.listen, args.port, args.url_path, args.secret_token)
        return run_polling(settings)
    if args.command == "webhook":
        return _webhook(settings, args)
    if args.command in ("report", "demo-data"):
        return _reports(settings, args)
    return _fail(f"unknown command {args.command}", EXIT_USAGE)


def _reports(settings: Settings, args: argparse.Namespace) -> int:
    from bot.channels.terminal_report import demo_command, demo_remove_command, report_command

    if args.command == "demo-data" and args.remove:
        return asyncio.run(demo_remove_command(settings))
    if args.command == "demo-data" and args.people is None:
        return _fail("demo-data needs --people N (or --remove)", EXIT_USAGE)
    people = getattr(args, "people", 1)
    if args.months < 1 or (people is not None and people < 1) or getattr(args, "departments", 1) < 1:
        return _fail("--people, --departments and --months must be at least 1", EXIT_USAGE)
    if args.command == "report":
        return asyncio.run(
            report_command(settings, lang=args.lang, months=args.months, csv=args.csv, chart=args.chart)
        )
    return asyncio.run(
        demo_command(
            settings, people=args.people, departments=args.departments, months=args.months, seed=args.seed
        )
    )


def _webhook(settings: Settings, args: argparse.Namespace) -> int:
    from telegram.error import TelegramError

    from bot.channels.telegram.application import ConfigurationError
    from bot.channels.telegram.runner import webhook_secret
    from bot.channels.telegram.webhook_admin import delete_webhook, set_webhook

    try:
        if args.action == "set":
            secret = webhook_secret(settings, args.secret_token)
            print(asyncio.run(set_webhook(settings, args.url, secret, args.max_connections)))
        else:
            print(asyncio.run(delete_webhook(settings)))
    except ConfigurationError as error:
        return _fail(str(error), EXIT_USAGE)
    except TelegramError as error:
        return _fail(f"Telegram refused: {error.message}")
    return 0


def _validate(settings: Settings, seeds: Path | None) -> int:
    default_seeds = PROJECT_ROOT.parent / "shared" / "seeds"
    seeds = seeds or (default_seeds if default_seeds.is_dir() else None)
    catalog, problems = check_all(settings.dialogues_dir, settings.knowledge_dir, seeds)
    for problem in problems:
        print(problem, file=sys.stderr)
    if catalog is None:
        return _fail(f"{len(problems)} problem(s) found")
    for note in catalog.unused:
        print(f"note: {note}")
    print(
        f"ok: {len(catalog.dialogues)} dialogues, {len(catalog.knowledge.items)} knowledge items, "
        f"{len(catalog.renderer.message_ids())} messages, {len(catalog.renderer.template_ids())} templates"
    )
    return 0


def _understand(settings: Settings, args: argparse.Namespace) -> int:
    """`coachbot understand`: the topics (and with --step the option) the coach hears in a text."""
    import json

    from bot.understanding import load_lexicon, match_option, understand
    from bot.understanding.lexicon import FOLDER
    from bot.understanding.options import step_options

    text = " ".join(args.text).strip()
    if not text:
        return _fail("give the text to understand", EXIT_USAGE)
    lexicon, problems = load_lexicon(settings.knowledge_dir / FOLDER)
    if lexicon is None:
        raise ContentError(problems)
    heard = understand(text, args.lang, lexicon)
    result: dict[str, object] = {"topics": [{"id": t.id, "confidence": t.confidence} for t in heard.topics]}
    quoted = {t.id: ", ".join(f'"{s.text}"' for s in t.spans) for t in (*heard.topics, *heard.ruled_out)}
    lines = [f"{t.id:<26} {t.confidence:.2f}  {quoted[t.id]}" for t in heard.topics] or ["no topic heard"]
    lines += [f"ruled out: {t.id} ({quoted[t.id]})" for t in heard.ruled_out]
    if args.step is not None:
        steps = step_options(settings.dialogues_dir)
        if args.step not in steps:
            known = ", ".join(sorted(steps))
            return _fail(f"no step {args.step!r} with options; try one of: {known}", EXIT_USAGE)
        match = match_option(text, args.lang, steps[args.step], args.step, lexicon)
        result["option"] = None if match is None else {"key": match.key, "confidence": match.confidence}
        if match is None:
            keys = ", ".join(o.key for o in steps[args.step])
            lines.append(f"option: none; the coach lists what is possible ({keys})")
        else:
            action = "taken as a tap" if match.sure else "asked back with one confirm button"
            lines.append(f"option: {match.key} {match.confidence:.2f} ({match.how}): {action}")
    print(json.dumps(result, ensure_ascii=False) if args.json else "\n".join(lines))
    return 0


async def _chat(settings: Settings, user: str | None, lang: str | None) -> int:
    import signal

    from bot.channels.terminal import CHANNEL, TerminalChat, system_language
    from bot.conversation import Visitor
    from bot.router import Router
    from bot.services import open_services

    # asyncio.run's own SIGINT handler only cancels the task, which a blocking read does not see
    # until Enter: with Python's default handler one Ctrl-C interrupts the read at once.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    services = await open_services(settings)
    try:
        # Without --lang the greeting follows the locale; the language question is still asked.
        visitor = Visitor(CHANNEL, (user or getpass.getuser())[:64], lang or system_language(os.environ))
        chat = TerminalChat(
            Router.around(services.coach), visitor, sys.stdin, sys.stdout, language_given=lang is not None
        )
        return await chat.run()
    finally:
        await services.close()


async def _departments(settings: Settings, args: argparse.Namespace) -> int:
    from bot.storage.database import Database

    database = Database(settings.database_url)
    try:
        await database.ensure_schema()
        async with database.transaction() as repo:
            try:
                if args.action == "add":
                    for name in args.names:
                        department = await repo.departments.add_department(name)
                        print(f"added: {department.name}")
                elif args.action == "rename":
                    found = await repo.departments.department_by_name(args.old)
                    if found is None:
                        return _fail(f"no department called {args.old!r}")
                    renamed = await repo.departments.rename_department(found.id, args.new)
                    print(f"renamed: {found.name} -> {renamed.name}")
                elif args.action == "remove":
                    found = await repo.departments.department_by_name(args.name)
                    if found is None:
                        return _fail(f"no department called {args.name!r}")
                    await repo.departments.remove_department(found.id)
                    print(f"removed: {found.name}")
            except ValueError as error:
                return _fail(str(error))
            for department in await repo.departments.departments():
                print(department.name)
        return 0
    finally:
        await database.dispose()


async def _db_upgrade(settings: Settings) -> int:
    from bot.storage.database import Database

    database = Database(settings.database_url)
    try:
        await database.upgrade()
        print("database is up to date")
        return 0
    finally:
        await database.dispose()
