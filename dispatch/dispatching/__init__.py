"""Manual dispatch (assign, move, unassign, pin, each checked by rules.py), day-of status
reports with ETA recompute, and appointment slots offered and booked (slots.py)."""
