"""Coaching: from a person's answers to a reading of where they stand and what helps. Pure."""
