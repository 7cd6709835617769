"""Route lists: a technician's stops for a day as JSON, a phone page and a printable PDF."""
