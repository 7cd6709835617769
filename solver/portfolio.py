"""Two engines on two cores, the better validated plan wins.

For a problem PyVRP models exactly (see :func:`solver.engines.pyvrp_engine.unsupported`)
and ``params.workers >= 2``, :func:`solve_portfolio` runs PyVRP in a child process (a
fresh interpreter, ``python -m solver.engines.pyvrp_child``, talking pickles over its
stdin/stdout: nothing of the caller's state is shared or re-imported, and it has a core
of its own) while the OR-Tools engine (:func:`solver.solve.solve` with one worker, so
the same construction and search as without the portfolio) runs in this process. Both
end at the same deadline; both plans are built by the same code
(:func:`solver.solve.build_plan`), checked with :func:`solver.validate.validate`, and
the valid one that leaves the least unassigned penalty, then costs least, is returned.

Progress from both engines reaches ``params.on_progress`` as one stream of improving
objective values; ``params.cancel`` stops both. If the child fails or does not answer in
time, the OR-Tools plan stands alone: the portfolio never makes a solve worse than the
OR-Tools engine by itself.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from solver.engines.pyvrp_engine import (
    PyvrpModel,
    PyvrpOutcome,
    build_model,
    plan_from_outcome,
    pyvrp_iterations,
    unsupported,
)
from solver.model import Problem, SolveParams
from solver.plan import Plan
from solver.schedule import Instance

log = logging.getLogger(__name__)

COLLECT_GRACE_S = 5.0
"""How long after the deadline we wait for the child's answer before giving up on it
(it normally arrives within milliseconds; a loaded machine may delay it)."""

START_S = 0.6
"""Taken off both engines' budgets for starting the child (PyVRP's import runs while we
compile) and compiling: the budgets depend only on the time limit and the problem's
size, so that both engines are deterministic for a given seed and time limit."""

MIN_TIME_LIMIT_S = 1.0
"""Below this the portfolio is not worth it: starting the PyVRP process and importing it
alone takes about half a second."""


def _wrap_up_s(inst: Instance, params: SolveParams) -> float:
    """Time kept after the searches stop for collecting the child's answer, building and
    validating both plans (measured: ~0.1 s for 100 visits, ~0.3 s for 1000 on a loaded
    2-core machine), at most a tenth of the limit, so the whole call stays in its limit."""
    return min(0.1 * params.time_limit_s, 0.15 + 0.0002 * len(inst.visits))


def _start_child() -> subprocess.Popen:
    """Starts ``python -m solver.engines.pyvrp_child`` (a fresh interpreter: nothing of
    the caller's state or ``__main__`` is re-imported). It imports PyVRP while we compile
    the problem, then waits for the search on its stdin (see :func:`_feed`)."""
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "solver.engines.pyvrp_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )


def _feed(
    child: subprocess.Popen,
    model: PyvrpModel,
    seed: int,
    deadline: float,
    t0: float,
    max_iterations: int,
) -> None:
    """Hands the child its search, from a thread: a big model fills the pipe long before
    the child reads it."""
    payload = pickle.dumps(
        (model, seed, deadline, t0, max_iterations), protocol=pickle.HIGHEST_PROTOCOL
    )

    def feed() -> None:
        try:
            assert child.stdin is not None
            child.stdin.write(payload)
            child.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    threading.Thread(target=feed, name="tecnico-pyvrp-feed", daemon=True).start()


def _cancel_child(child: subprocess.Popen) -> None:
    """Any byte, or the end of its stdin, stops the child's search."""
    try:
        assert child.stdin is not None
        if not child.stdin.closed:
            child.stdin.write(b"C")
            child.stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def _reap(child: subprocess.Popen) -> None:
    try:
        child.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    finally:
        if child.stdout is not None:
            child.stdout.close()


def _clearly_unsupported(problem: Problem) -> bool:
    """Cheap checks on the raw problem (before compiling it) for the common reasons PyVRP
    cannot model it: split shifts, breaks, several windows, pins, soft windows."""
    for t in problem.technicians:
        for s in t.shifts:
            if len(s.windows) > 1 or s.breaks:
                return True
    return any(
        len(v.windows) > 1 or v.pin is not None or v.soft_window is not None
        for v in problem.visits
    )


def portfolio_applies(inst: Instance, params: SolveParams) -> bool:
    return params.workers >= 2 and bool(inst.visits) and unsupported(inst) is None


class _Progress:
    """One stream of improving objective values from both engines."""

    def __init__(self, callback: Any) -> None:
        self.callback = callback
        self.best: float | None = None
        self.first: float | None = None
        self.lock = threading.Lock()

    def __call__(self, elapsed: float, value: float) -> None:
        with self.lock:
            if self.first is None:
                self.first = elapsed
            if self.best is not None and value >= self.best:
                return
            self.best = value
            if self.callback is not None:
                self.callback(elapsed, value)


def _rank(inst: Instance, plan: Plan) -> tuple[float, float]:
    """Unassigned penalty first, then the whole objective (both in cost units)."""
    weights = inst.problem.weights
    by_id = {v.id: v for v in inst.visits}
    penalty = sum(weights.unassigned_penalty(by_id[u.visit_id]) for u in plan.unassigned)
    return (penalty, plan.objective)


def solve_portfolio(problem: Problem, params: SolveParams) -> Plan | None:
    """PyVRP (child process) and the OR-Tools engine (``solve`` with one worker, here)
    until the time limit, then the better valid plan; ``None`` when the portfolio does
    not apply (fewer than two workers, or a problem PyVRP cannot model exactly)."""
    from solver.schedule import compile_problem
    from solver.solve import solve
    from solver.validate import validate

    t0 = time.monotonic()
    if (
        params.workers < 2
        or params.time_limit_s < MIN_TIME_LIMIT_S
        or _clearly_unsupported(problem)
    ):
        return None
    child = _start_child()
    try:
        inst = compile_problem(problem)
        applies = portfolio_applies(inst, params)
        if applies:
            deadline = t0 + params.time_limit_s
            search_deadline = max(time.monotonic() + 0.05, deadline - _wrap_up_s(inst, params))
            model = build_model(inst)
            search_s = max(0.05, params.time_limit_s - _wrap_up_s(inst, params) - START_S)
            _feed(
                child,
                model,
                params.seed,
                search_deadline,
                t0,
                pyvrp_iterations(len(model.client_visit), search_s),
            )
    except BaseException:
        _cancel_child(child)
        _reap(child)
        raise
    if not applies:
        _cancel_child(child)
        threading.Thread(target=_reap, args=(child,), daemon=True).start()
        return None
    progress = _Progress(params.on_progress)
    outcome: list[PyvrpOutcome] = []
    finished = threading.Event()

    def listen() -> None:
        # runs until the child's last message or its end (EOF)
        try:
            while True:
                msg = pickle.load(child.stdout)
                if msg[0] == "best":
                    progress(msg[1], msg[2] / model.scale)
                elif msg[0] == "done":
                    outcome.append(msg[1])
                    log.debug("PyVRP answered at %.2f s", time.monotonic() - t0)
                    return
                else:
                    log.warning("PyVRP engine failed in its process:\n%s", msg[1])
                    return
        except (EOFError, OSError, pickle.UnpicklingError):
            return
        finally:
            finished.set()

    listener = threading.Thread(target=listen, name="tecnico-pyvrp-listen", daemon=True)
    listener.start()
    watcher_stop = threading.Event()
    if params.cancel is not None:

        def watch_cancel() -> None:
            while not watcher_stop.wait(0.05):
                if params.cancel.is_set():
                    _cancel_child(child)
                    return

        threading.Thread(target=watch_cancel, name="tecnico-pyvrp-cancel", daemon=True).start()
    try:
        offset = time.monotonic() - t0  # the inner solve counts from its own start

        def relay(elapsed: float, value: float) -> None:
            progress(elapsed + offset, value)

        ortools_plan = solve(
            problem,
            dataclasses.replace(
                params,
                workers=1,
                time_limit_s=search_s,
                on_progress=relay,
            ),
        )
        if ortools_plan.first_solution_s is not None:
            ortools_plan = dataclasses.replace(
                ortools_plan, first_solution_s=ortools_plan.first_solution_s + offset
            )
        log.debug("OR-Tools done at %.2f s", time.monotonic() - t0)
        finished.wait(timeout=max(0.0, search_deadline + COLLECT_GRACE_S - time.monotonic()))
        if not outcome:
            log.warning("PyVRP did not answer by %.2f s; OR-Tools alone", time.monotonic() - t0)
    finally:
        watcher_stop.set()
        _cancel_child(child)
        listener.join(timeout=1.0)
        # the child exits on its own once answered or cancelled; reap it off the clock
        threading.Thread(target=_reap, args=(child,), name="tecnico-pyvrp-reap", daemon=True).start()

    plans = [ortools_plan]
    if outcome and outcome[0].feasible:
        plans.append(plan_from_outcome(inst, model, outcome[0], params, t0))
    valid = []
    for p in plans:
        violations = validate(problem, p)
        if violations:
            log.error("the %s engine's plan is invalid (%s); discarded", p.engine, violations[0])
        else:
            valid.append(p)
    best = min(valid, key=lambda p: _rank(inst, p)) if valid else plans[0]
    firsts = [p.first_solution_s for p in plans if p.first_solution_s is not None]
    # either engine cut short by the clock, or PyVRP not answering, may change the pick
    hit = not outcome or any(p.deadline_hit for p in plans)
    return dataclasses.replace(
        best,
        first_solution_s=min(firsts) if firsts else None,
        elapsed=time.monotonic() - t0,
        deadline_hit=hit,
    )
