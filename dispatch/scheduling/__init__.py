"""Scheduling runs: the database mapped to a solver problem (``mapping``), runs as jobs with
progress, cancellation and stale-run reaping, publishing and discarding (``runs``), HTTP
routes (``api``)."""
