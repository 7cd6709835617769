"""Exact route timing (``solver.schedule.schedule``) on many generated routes."""

from __future__ import annotations

import dataclasses
import random

from solver.generate import generate_fsm
from solver.model import Break, Shift, TimeWindow
from solver.schedule import compile_problem, schedule

from .kit import H, hm


def with_many_breaks(prob):
    """Every technician on a split shift with a flexible break in each half."""
    shift = Shift(
        0,
        (TimeWindow(hm(8), hm(12)), TimeWindow(hm(13, 30), hm(17, 30))),
        breaks=(Break(hm(10), hm(11), H // 4), Break(hm(15), hm(16), H // 4)),
    )
    techs = tuple(dataclasses.replace(t, shifts=(shift,)) for t in prob.technicians)
    return dataclasses.replace(prob, technicians=techs)


def test_strict_timing_is_the_relaxed_one_whenever_that_breaks_no_limit():
    # the strict mode drops states that cannot end a feasible route; the relaxed one
    # keeps every state, so the two agree exactly when nothing is violated
    checked = feasible = 0
    for prob in (generate_fsm(4, 60, 1, seed=5), with_many_breaks(generate_fsm(4, 60, 1, seed=6))):
        inst = compile_problem(prob)
        rng = random.Random(1)
        for veh in inst.vehicles:
            for _ in range(150):
                seq = rng.sample(range(len(inst.visits)), rng.randint(1, 9))
                if rng.random() < 0.7:  # in window order: more of them are feasible
                    seq.sort(key=lambda vi: inst.start_windows[vi][0])
                relaxed = schedule(inst, veh, seq, relaxed=True)
                assert relaxed is not None  # no capacities here
                strict = schedule(inst, veh, seq)
                assert strict == (relaxed if relaxed.violation == 0 else None), (veh.index, seq)
                checked += 1
                feasible += strict is not None
    assert checked == 2 * 4 * 150 and feasible > checked // 10
