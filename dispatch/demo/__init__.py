"""The demo company seeded by ``tecnico demo seed`` (and ``make demo``)."""
