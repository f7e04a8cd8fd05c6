"""The dialogue engine: pure Python, knows dialogues, not Telegram and not SQL."""
