"""The shared kernel: settings, db, money, errors, auth, clock, i18n.

Every package may import it; it imports nothing else of ours.
"""
