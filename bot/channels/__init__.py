"""Channels carry the coach to people: Telegram, the terminal. They know no SQL."""
