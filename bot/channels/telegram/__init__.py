"""The coach on Telegram: python-telegram-bot glue that turns updates into coach events."""
