"""Tecnico's own JSON files for problems and plans.

A problem file is the JSON form of :class:`solver.model.Problem` (``Problem.to_dict``),
optionally tagged ``"format": "tecnico-problem", "version": 1``; its JSON Schema is
``problem.schema.json`` next to this module (shipped as package data) and the format is
documented in ``docs/problem-format.md``. A plan file is ``Plan.to_dict`` tagged
``"format": "tecnico-plan", "version": 1``.

Reading checks the file against the schema first, so that a mistake is reported with
the path of the offending value (``visits[3].windows[0].end: -5 is less than the
minimum of 0``) rather than as a failure deep inside the model; the model's own checks
(a window ending before it starts, an unknown technician in a pin, ...) come second and
name the field the same way. Both raise :class:`FormatError`, a ``ValueError``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from solver.model import Problem
from solver.plan import Plan

PROBLEM_FORMAT = "tecnico-problem"
PLAN_FORMAT = "tecnico-plan"
VERSION = 1
MAX_REPORTED_ERRORS = 10
"""Enough to fix a file in one go without drowning the first mistake."""


class FormatError(ValueError):
    """A file that is not a valid problem or plan; ``errors`` lists one line per problem
    found, each starting with the JSON path of the value."""

    def __init__(self, errors: list[str], source: str | None = None) -> None:
        self.errors = errors
        self.source = source
        head = f"{source}: " if source else ""
        if len(errors) == 1:
            super().__init__(head + errors[0])
        else:
            super().__init__(head + f"{len(errors)} errors:\n  " + "\n  ".join(errors))


@functools.cache
def problem_schema() -> dict[str, Any]:
    """The JSON Schema of problem files (draft 2020-12)."""
    text = resources.files("solver.formats").joinpath("problem.schema.json").read_text("utf-8")
    return json.loads(text)


def json_path(parts: Any) -> str:
    """``["visits", 3, "windows", 0, "end"]`` -> ``visits[3].windows[0].end``."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out or "(top level)"


def _non_finite(value: Any, path: tuple[Any, ...] = ()) -> Iterator[str]:
    """Python's json module reads NaN and Infinity; JSON has neither."""
    if isinstance(value, float) and not math.isfinite(value):
        yield f"{json_path(path)}: {value!r} is not a finite number"
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _non_finite(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _non_finite(v, (*path, i))


def schema_errors(data: Any) -> list[str]:
    """Schema violations of a problem document, one line each, by path (empty: valid)."""
    import jsonschema

    errors = list(_non_finite(data))
    if errors:
        return errors
    validator = jsonschema.Draft202012Validator(problem_schema())
    found = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path))))
    for e in found:
        path, msg = _describe(e)
        errors.append(f"{json_path(path)}: {msg}")
    return errors


def _describe(error: Any, depth: int = 0) -> tuple[list[Any], str]:
    """(path, one-line message) of a schema error; for ``oneOf``/``anyOf`` failures the
    most telling cause (a value that is neither null nor valid says why it is not valid)."""
    path = list(error.absolute_path)
    if error.validator in ("oneOf", "anyOf") and error.context and depth < 5:
        causes = [
            e for e in error.context if not (e.validator == "type" and e.validator_value == "null")
        ]
        best = max(
            causes or error.context, key=lambda e: (len(e.absolute_path), e.validator != "type")
        )
        if all(e.validator == "required" for e in error.context):
            alternatives = " or ".join(" and ".join(alt["required"]) for alt in error.validator_value)
            return path, f"needs {alternatives}"
        return _describe(best, depth + 1)
    msg = error.message
    if error.validator == "additionalProperties":
        msg = msg.replace("Additional properties are", "unknown field(s)").replace(
            "Additional properties", "unknown field(s)"
        )
    elif error.validator == "dependentRequired":
        msg = msg.replace("is a dependency of", "is required together with")
    elif error.validator == "minLength" and error.validator_value == 1:
        msg = "must not be empty"
    return path, msg


def problem_from_dict(data: Any, *, source: str | None = None) -> Problem:
    """A problem from the JSON document ``data`` (already parsed), checked against the
    schema and then by the model."""
    errors = schema_errors(data)
    if errors:
        raise FormatError(errors[:MAX_REPORTED_ERRORS], source)
    body = {k: v for k, v in data.items() if k not in ("$schema", "format", "version", "name")}
    try:
        return Problem.from_dict(body)
    except ValueError as exc:
        raise FormatError([str(exc)], source) from None


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    return {"format": PROBLEM_FORMAT, "version": VERSION, **problem.to_dict()}


def plan_to_dict(plan: Plan, **extra: Any) -> dict[str, Any]:
    """The plan document; ``extra`` keys (e.g. where the problem came from) are added at
    the top level and ignored when reading."""
    return {"format": PLAN_FORMAT, "version": VERSION, **plan.to_dict(), **extra}


def plan_from_dict(data: Any, *, source: str | None = None) -> Plan:
    if not isinstance(data, Mapping):
        raise FormatError(["(top level): a plan is a JSON object"], source)
    if data.get("format", PLAN_FORMAT) != PLAN_FORMAT:
        raise FormatError([f"format: {data.get('format')!r} is not a plan"], source)
    try:
        return Plan.from_dict(data)
    except KeyError as exc:
        raise FormatError([f"{exc.args[0]}: missing"], source) from None
    except (TypeError, ValueError) as exc:
        raise FormatError([f"malformed plan ({exc})"], source) from None


def parse_json(text: str, *, source: str | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            [f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"], source
        ) from None


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def read_problem(path: str | Path) -> Problem:
    path = Path(path)
    return problem_from_dict(parse_json(path.read_text("utf-8"), source=str(path)),
                             source=str(path))


def write_problem(problem: Problem, path: str | Path) -> None:
    Path(path).write_text(dumps(problem_to_dict(problem)), "utf-8")


def read_plan(path: str | Path) -> Plan:
    path = Path(path)
    return plan_from_dict(parse_json(path.read_text("utf-8"), source=str(path)), source=str(path))


def write_plan(plan: Plan, path: str | Path, **extra: Any) -> None:
    Path(path).write_text(dumps(plan_to_dict(plan, **extra)), "utf-8")


def looks_native(data: Any) -> bool:
    """Whether a parsed document is meant as one of our problems (for format detection)."""
    return isinstance(data, Mapping) and (
        data.get("format") == PROBLEM_FORMAT or "technicians" in data or "visits" in data
    )


__all__ = [
    "PLAN_FORMAT",
    "PROBLEM_FORMAT",
    "FormatError",
    "dumps",
    "looks_native",
    "parse_json",
    "plan_from_dict",
    "plan_to_dict",
    "problem_from_dict",
    "problem_schema",
    "problem_to_dict",
    "read_plan",
    "read_problem",
    "schema_errors",
    "write_plan",
    "write_problem",
]
