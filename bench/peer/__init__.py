"""The conventional build of the coach's check, for comparison (see conventional.py)."""
