"""Persistence for the coach: SQLite for a single process, PostgreSQL when several workers share state.

`database.Database` is opened once at start-up. Its `transaction()` yields a `unit_of_work.UnitOfWork`
whose attributes are one repository per aggregate (people, positions, answers, assessments,
departments, updates, roles, invites, sessions, nudges); its `read()` is the snapshot
connection reports run their aggregate SQL on. Rows never leave this package: repositories return
the dataclasses of bot.domain.
"""
