"""Entry point of the PyVRP child process of :mod:`solver.portfolio`:
``python -m solver.engines.pyvrp_child`` (see :func:`solver.engines.pyvrp_engine.serve`)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    import pyvrp.search  # noqa: F401  (imported before the parent sends the search)

    from solver.engines.pyvrp_engine import serve

    # the protocol owns the real stdout; anything printed goes to stderr instead
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    try:
        serve(sys.stdin.buffer, out)
        out.flush()
    finally:
        # skip interpreter teardown: a thread still blocks reading stdin (the cancel
        # signal), and finalising under it aborts; there is nothing left to clean up
        os._exit(0)


if __name__ == "__main__":
    main()
