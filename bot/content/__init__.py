"""Coaching content as data: the knowledge files and the reply templates."""
