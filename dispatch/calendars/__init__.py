"""Technicians' working calendars: weekly shift windows, flexible breaks, absences, and the
availability of a day (calendar minus public holidays minus absences minus booked visits)."""
