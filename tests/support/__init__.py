"""Test support: a local Telegram Bot API double and an HTML checker."""
