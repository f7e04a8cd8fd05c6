"""Nudges that respect people: a weekly cap, quiet hours and priorities, as a pure policy."""
