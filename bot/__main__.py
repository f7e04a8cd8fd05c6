"""Allows `python -m bot`, the same as the `coachbot` script."""

from bot.cli import main

raise SystemExit(main())
