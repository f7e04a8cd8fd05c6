"""Champions: invitations, inspiration sessions and workshops, and the nudges around them (seed 002).

Storage knows SQL, channels know Telegram; this package holds what lies between: who may do what,
when a nudge is due, what a brief says, and the dispatcher that sends each nudge once.
"""
