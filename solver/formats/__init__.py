"""Problem and plan files: our own JSON format (:mod:`solver.formats.native`, with its
JSON Schema) and VROOM's input format (:mod:`solver.formats.vroom`). Benchmark instance
readers (Solomon, Gehring & Homberger) live in :mod:`solver.formats.solomon`."""

from solver.formats.native import (
    FormatError,
    plan_from_dict,
    plan_to_dict,
    problem_from_dict,
    problem_schema,
    problem_to_dict,
    read_plan,
    read_problem,
    write_plan,
    write_problem,
)
from solver.formats.vroom import VroomImport, from_vroom

__all__ = [
    "FormatError",
    "VroomImport",
    "from_vroom",
    "plan_from_dict",
    "plan_to_dict",
    "problem_from_dict",
    "problem_schema",
    "problem_to_dict",
    "read_plan",
    "read_problem",
    "write_plan",
    "write_problem",
]
