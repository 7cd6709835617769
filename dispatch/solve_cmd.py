"""``tecnico solve FILE``: plan a problem file and write the plan as JSON.

The file is either our own problem format (``docs/problem-format.md``) or VROOM's input
format; ``--format auto`` tells them apart by their keys (``technicians``/``visits`` or
``vehicles``/``jobs``). The plan goes to ``--out`` (or standard output); a summary, the
notes on anything a VROOM file asked for that our model does not carry, and any
violation the independent validator finds go to standard error.

Exit codes: 0 planned (some visits may be unassigned: the plan says why), 2 the file
cannot be read or is not a valid problem, 3 the plan failed validation (a solver bug:
the plan is still written so that it can be looked at).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

FORMATS = ("auto", "native", "vroom")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _read(file: str) -> tuple[str, str]:
    """(text, name for messages); ``-`` reads standard input."""
    if file == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(file)
    if not path.is_file():
        raise _fail(f"{file}: no such file")
    try:
        return path.read_text("utf-8"), file
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{file}: cannot be read ({exc})") from None


def load_problem(data: Any, fmt: str, source: str) -> tuple[Any, dict[str, Any], list[str]]:
    """(problem, what to record about the input in the plan, notes) for a parsed file."""
    from solver.formats.native import looks_native, problem_from_dict
    from solver.formats.vroom import from_vroom, looks_vroom

    if fmt == "auto":
        if looks_native(data):
            fmt = "native"
        elif looks_vroom(data):
            fmt = "vroom"
        else:
            raise ValueError(
                f"{source}: neither a Tecnico problem (technicians, visits) nor a VROOM "
                "input (vehicles, jobs); use --format to say which"
            )
    if fmt == "native":
        return problem_from_dict(data, source=source), {"format": "native"}, []
    try:
        imported = from_vroom(data)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    return (
        imported.problem,
        {"format": "vroom", "time_origin": imported.origin},
        list(imported.notes),
    )


def solve_command(
    file: str = typer.Argument(..., help="Problem file (our JSON format or VROOM's); - for stdin."),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.01, help="Seconds to search."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (same seed, same plan)."),
    out: Path | None = typer.Option(None, "--out", help="Write the plan here (default: stdout)."),
    fmt: str = typer.Option("auto", "--format", help="auto, native or vroom."),
) -> None:
    """Plan the technicians' routes for a problem file and write the plan as JSON."""
    from solver.formats.native import dumps, parse_json, plan_to_dict
    from solver.model import SolveParams
    from solver.solve import solve
    from solver.validate import check_reasons, validate

    if fmt not in FORMATS:
        raise _fail(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    text, source = _read(file)
    try:
        data = parse_json(text, source=source)
        problem, origin, notes = load_problem(data, fmt, source)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    for n in notes:
        typer.secho(f"note: {n}", err=True, fg=typer.colors.YELLOW)

    plan = solve(problem, SolveParams(time_limit_s=time_limit, seed=seed))
    problems = [*validate(problem, plan), *check_reasons(problem, plan)]

    document = dumps(plan_to_dict(plan, input=origin))
    if out is None:
        sys.stdout.write(document)
    else:
        out.write_text(document, "utf-8")
    k = plan.kpis
    typer.echo(
        f"{plan.status.value}: {k.assigned} assigned, {k.unassigned} unassigned, "
        f"{k.routes} routes, travel {k.travel_time / 60:.0f} min / {k.travel_distance / 1000:.1f} km,"
        f" objective {plan.objective:.1f}, {plan.elapsed:.1f} s",
        err=True,
    )
    if problems:
        for v in problems:
            typer.secho(f"invalid: {v}", err=True, fg=typer.colors.RED)
        raise typer.Exit(3)
