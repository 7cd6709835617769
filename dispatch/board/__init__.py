"""The planning board: a day of the schedule by technician, unplanned work, live updates."""
