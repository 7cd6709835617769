"""``tecnico bench``: the solver's benchmark commands (figures, not tests).

- ``bench vrptw``: Solomon / Gehring & Homberger instances with the benchmark rules
  (fleet and capacity as given, Euclidean distances in double precision, travel time =
  distance, distance objective, every customer mandatory), the gap to the best known
  distance, and, in the same run, VROOM (and optionally PyVRP alone) on the same
  instance.
- ``bench fsm``: a generated field-service problem (:mod:`solver.generate`) solved and
  validated, with KPIs, time to the first feasible plan, total time and peak memory, and
  VROOM on the same instance when it is installed.

The instance files are not part of the repository: by default they are read from
``$TECNICO_BENCHMARKS_DIR`` or ``../shared/benchmarks`` (next to the checkout or the
current directory), which holds ``vrptw/solomon``, ``vrptw/homberger_*`` and
``vrptw/BKS.json``.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import typer

bench_app = typer.Typer(
    help="Benchmarks: VRPTW instances and generated field-service days.", no_args_is_help=True
)

CSV_COLUMNS = ("instance", "distance", "vehicles", "unassigned", "seconds", "bks", "gap_pct")
ENGINES = ("auto", "ortools", "pyvrp")
CLASSES = ("C1", "C2", "R1", "R2", "RC1", "RC2")


# --------------------------------------------------------------------------- locating files


def benchmarks_dir() -> Path | None:
    """``$TECNICO_BENCHMARKS_DIR``, else the first ``../shared/benchmarks`` found next to
    the current directory or the checkout."""
    env = os.environ.get("TECNICO_BENCHMARKS_DIR")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    for base in (Path.cwd(), repo):
        candidate = (base / ".." / "shared" / "benchmarks").resolve()
        if candidate.is_dir():
            return candidate
    return None


def instance_files(paths: list[Path]) -> list[Path]:
    """Files as given; directories expand to the instance files inside, sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() == ".txt"))
        elif p.is_file():
            out.append(p)
        else:
            raise typer.BadParameter(f"{p}: no such file or directory")
    return out


def load_bks(files: list[Path]) -> dict[str, dict]:
    """Every ``BKS.json`` next to the instances (or one or two levels up), merged, plus
    the one in the benchmarks directory."""
    seen: set[Path] = set()
    candidates: list[Path] = []
    for f in files:
        for parent in list(f.resolve().parents)[:3]:
            candidates.append(parent / "BKS.json")
    base = benchmarks_dir()
    if base is not None:
        candidates.append(base / "vrptw" / "BKS.json")
    bks: dict[str, dict] = {}
    for c in candidates:
        if c in seen or not c.is_file():
            continue
        seen.add(c)
        try:
            data = json.loads(c.read_text())
        except (OSError, ValueError) as exc:
            typer.secho(f"warning: {c}: {exc}", err=True, fg=typer.colors.YELLOW)
            continue
        for k, v in data.items():
            bks.setdefault(k, v)
    return bks


def best_known_distance(bks: dict[str, dict], name: str) -> float | None:
    entry = bks.get(f"{name}_distance")
    if isinstance(entry, dict) and isinstance(entry.get("best_known_cost"), int | float):
        return float(entry["best_known_cost"])
    return None


# --------------------------------------------------------------------------- vrptw


@dataclass(slots=True)
class VrptwRow:
    name: str
    klass: str
    distance: float
    vehicles: int
    unassigned: int
    seconds: float
    bks: float | None
    engine: str
    errors: list[str]
    theirs: dict[str, float]
    their_seconds: dict[str, float]

    @property
    def gap_pct(self) -> float | None:
        if self.bks is None or self.bks <= 0:
            return None
        return 100.0 * (self.distance - self.bks) / self.bks


def _solve(problem, engine: str, time_limit: float, seed: int):  # type: ignore[no-untyped-def]
    from solver.engines.pyvrp_engine import solve_pyvrp
    from solver.model import SolveParams
    from solver.solve import solve

    if engine == "pyvrp":
        return solve_pyvrp(problem, SolveParams(time_limit_s=time_limit, seed=seed))
    workers = 2 if engine == "auto" else 1
    return solve(problem, SolveParams(time_limit_s=time_limit, seed=seed, workers=workers))


def _comparisons(compare: str, engine: str) -> list[str]:
    from solver.engines.vroom_engine import available

    if compare == "auto":
        return ["vroom"] if available() else []
    if compare == "none":
        return []
    wanted = [c.strip() for c in compare.split(",") if c.strip()]
    for c in wanted:
        if c not in ("vroom", "pyvrp"):
            raise typer.BadParameter(f"--compare: unknown engine {c!r} (vroom, pyvrp)")
    if "vroom" in wanted and not available():
        raise typer.BadParameter("--compare vroom: pyvroom is not installed (extra 'bench')")
    return [c for c in wanted if not (c == "pyvrp" and engine == "pyvrp")]


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return ""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


@bench_app.command("vrptw")
def vrptw(
    paths: list[Path] | None = typer.Argument(
        None, help="Instance files or directories (default: the 56 Solomon instances)."
    ),
    time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds per instance."),
    csv_path: Path | None = typer.Option(None, "--csv", help="Write one row per instance."),
    engine: str = typer.Option("auto", help="auto (portfolio on two cores), ortools or pyvrp."),
    compare: str = typer.Option(
        "auto", help="Reference engines in the same run: auto (VROOM if installed), none, "
        "or a list of vroom,pyvrp (PyVRP alone, one core, same time limit)."
    ),
    vroom_timeout: float | None = typer.Option(
        None, help="Stop VROOM after this many seconds (default: let it finish)."
    ),
    seed: int = 0,
) -> None:
    """Solve VRPTW benchmark instances and compare with the best known distances."""
    from solver.engines.vroom_engine import solve_vroom
    from solver.formats.solomon import check_routes, instance_class, read_solomon, to_problem
    from solver.validate import validate

    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine: one of {', '.join(ENGINES)}")
    if time_limit <= 0:
        raise typer.BadParameter("--time-limit: must be positive")
    if not paths:
        base = benchmarks_dir()
        if base is None or not (base / "vrptw" / "solomon").is_dir():
            typer.secho(
                "error: no instances given and no benchmarks directory found "
                "(set TECNICO_BENCHMARKS_DIR)", err=True, fg=typer.colors.RED
            )
            raise typer.Exit(2)
        paths = [base / "vrptw" / "solomon"]
    files = instance_files(paths)
    if not files:
        typer.secho("error: no instance files found", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    others = _comparisons(compare, engine)
    bks = load_bks(files)

    header = (
        f"{'instance':<12}{'distance':>11}{'veh':>5}{'unas':>5}{'sec':>7}{'bks':>11}"
        f"{'gap%':>7}  engine"
    )
    for o in others:
        header += f"{o + ' dist':>14}{'sec':>7}{'ratio':>8}"
    typer.echo(header)
    rows: list[VrptwRow] = []
    for f in files:
        try:
            instance = read_solomon(f)
        except (OSError, ValueError) as exc:
            typer.secho(f"{f}: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from None
        problem = to_problem(instance)
        started = time.perf_counter()
        plan = _solve(problem, engine, time_limit, seed)
        seconds = time.perf_counter() - started
        violations = validate(problem, plan)
        routes = [[int(s.visit_id) for s in r.stops] for r in plan.routes]
        distance, errors = check_routes(instance, routes)
        errors = [str(v) for v in violations] + errors
        try:
            klass = instance_class(instance.name)
        except ValueError:
            klass = "?"
        row = VrptwRow(
            name=instance.name,
            klass=klass,
            distance=distance,
            vehicles=len(plan.routes),
            unassigned=len(plan.unassigned),
            seconds=seconds,
            bks=best_known_distance(bks, instance.name),
            engine=plan.engine,
            errors=errors,
            theirs={},
            their_seconds={},
        )
        rows.append(row)
        typer.echo(
            f"{row.name:<12}{row.distance:>11.2f}{row.vehicles:>5}{row.unassigned:>5}"
            f"{row.seconds:>7.2f}{_fmt(row.bks):>11}{_fmt(row.gap_pct):>7}  {row.engine:<7}",
            nl=False,
        )
        sys.stdout.flush()
        notes: list[str] = []
        for o in others:
            if o == "vroom":
                ref = solve_vroom(problem, timeout_s=vroom_timeout)
                row.theirs[o], row.their_seconds[o] = ref.travel_distance, ref.seconds
                notes = [f"vroom left {ref.unassigned} unassigned"] if ref.unassigned else []
            else:
                t_ref = time.perf_counter()
                ref_plan = _solve(problem, "pyvrp", time_limit, seed)
                row.their_seconds[o] = time.perf_counter() - t_ref
                row.theirs[o] = check_routes(
                    instance, [[int(s.visit_id) for s in r.stops] for r in ref_plan.routes]
                )[0]
            theirs = row.theirs[o]
            ratio = row.distance / theirs if theirs > 0 else None
            typer.echo(f"{theirs:>14.2f}{row.their_seconds[o]:>7.1f}{_fmt(ratio, 4):>8}", nl=False)
            sys.stdout.flush()
        if errors:
            notes.insert(0, f"INVALID: {errors[0]}")
        typer.echo("".join(f"  {n}" for n in notes))

    _summary(rows, others)
    if csv_path is not None:
        with csv_path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(CSV_COLUMNS)
            for r in rows:
                w.writerow([
                    r.name, f"{r.distance:.2f}", r.vehicles, r.unassigned, f"{r.seconds:.2f}",
                    "" if r.bks is None else f"{r.bks:.2f}", _fmt(r.gap_pct),
                ])
        typer.echo(f"wrote {csv_path}")
    if any(r.errors for r in rows):
        raise typer.Exit(1)


def _summary(rows: list[VrptwRow], others: list[str]) -> None:
    by_class: dict[str, list[VrptwRow]] = defaultdict(list)
    for r in rows:
        by_class[r.klass].append(r)
    groups = [(k, by_class[k]) for k in (*CLASSES, "?") if by_class.get(k)]
    if len(groups) > 1 or len(rows) > 1:
        groups.append(("all", rows))
    typer.echo("")
    head = (
        f"{'class':<6}{'n':>4}{'distance':>12}{'veh':>7}{'unas':>6}{'sec':>7}"
        f"{'gap% mean':>11}{'gap% max':>10}"
    )
    for o in others:
        head += f"{o + ' ratio':>14}"
    typer.echo(head)
    for name, group in groups:
        gaps = [r.gap_pct for r in group if r.gap_pct is not None]
        line = (
            f"{name:<6}{len(group):>4}{statistics.fmean(r.distance for r in group):>12.2f}"
            f"{statistics.fmean(r.vehicles for r in group):>7.2f}"
            f"{sum(r.unassigned for r in group):>6}"
            f"{statistics.fmean(r.seconds for r in group):>7.2f}"
            f"{_fmt(statistics.fmean(gaps) if gaps else None, 3):>11}"
            f"{_fmt(max(gaps) if gaps else None, 3):>10}"
        )
        for o in others:
            ratios = [r.distance / r.theirs[o] for r in group if r.theirs.get(o, 0) > 0]
            line += f"{_fmt(statistics.fmean(ratios) if ratios else None, 4):>14}"
        typer.echo(line)
    invalid = sum(1 for r in rows if r.errors)
    if invalid:
        typer.secho(f"{invalid} invalid solution(s)", fg=typer.colors.RED)


# --------------------------------------------------------------------------- fsm


def _live_children_peak_kib() -> int:
    """Largest peak RSS (VmHWM, KiB) of our children still running (Linux /proc; 0
    elsewhere): worker processes the solver has not reaped yet do not show in rusage."""
    me = str(os.getpid())
    peak = 0
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]))
    return peak


def _rss_mb() -> tuple[float, float]:
    """Peak resident memory (MB) of this process and of its largest child (finished or
    still running)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if sys.platform == "darwin":  # bytes there, KiB on Linux
        return own / 2**20, children / 2**20
    return own / 1024, max(children, _live_children_peak_kib()) / 1024


@bench_app.command("fsm")
def fsm(
    technicians: int = typer.Option(50, min=1),
    visits: int = typer.Option(500, min=0),
    days: int = typer.Option(1, min=1),
    seed: int = 0,
    time_limit: float = typer.Option(30.0, "--time-limit", help="Seconds."),
    workers: int = typer.Option(2, min=1, help="Cores the solver may use."),
    compare: str = typer.Option("auto", help="auto (VROOM if installed), none or vroom."),
) -> None:
    """Solve a generated field-service problem and report KPIs, time and memory."""
    from solver.engines.vroom_engine import available, solve_vroom
    from solver.generate import generate_fsm
    from solver.model import SolveParams
    from solver.solve import solve
    from solver.validate import validate

    if time_limit <= 0:
        raise typer.BadParameter("--time-limit: must be positive")
    if compare not in ("auto", "none", "vroom"):
        raise typer.BadParameter("--compare: auto, none or vroom")
    if compare == "vroom" and not available():
        raise typer.BadParameter("--compare vroom: pyvroom is not installed (extra 'bench')")
    use_vroom = compare == "vroom" or (compare == "auto" and available())

    t_gen = time.perf_counter()
    problem = generate_fsm(technicians, visits, days, seed)
    gen_s = time.perf_counter() - t_gen
    first: list[float] = []

    def on_progress(elapsed: float, objective: float) -> None:
        if not first:
            first.append(elapsed)

    started = time.perf_counter()
    plan = solve(
        problem,
        SolveParams(time_limit_s=time_limit, seed=seed, workers=workers, on_progress=on_progress),
    )
    total_s = time.perf_counter() - started
    own_mb, child_mb = _rss_mb()
    violations = validate(problem, plan)
    k = plan.kpis
    first_s = first[0] if first else plan.first_solution_s

    typer.echo(
        f"fsm: {technicians} technicians x {visits} visits x {days} day(s), seed {seed}, "
        f"time limit {time_limit:g} s, {workers} worker(s) (generated in {gen_s:.2f} s)"
    )
    typer.echo(f"engine            {plan.engine} ({plan.status.value})")
    typer.echo(f"served            {k.assigned} / {len(problem.visits)}")
    typer.echo(f"unassigned        {k.unassigned}")
    reasons = Counter(u.reason.value for u in plan.unassigned)
    for reason, n in reasons.most_common():
        typer.echo(f"  {reason:<24}{n}")
    prio = Counter(problem.visit(u.visit_id).priority for u in plan.unassigned)
    if prio:
        typer.echo("  by priority      " + ", ".join(f"p{p}: {n}" for p, n in sorted(prio.items())))
    typer.echo(f"travel time       {k.travel_time / 3600:.2f} h")
    typer.echo(f"travel distance   {k.travel_distance / 1000:.1f} km")
    typer.echo(f"service time      {k.service_time / 3600:.2f} h")
    typer.echo(f"overtime          {k.overtime / 60:.0f} min")
    typer.echo(f"utilisation       {100 * k.utilisation:.1f} %")
    typer.echo(f"routes            {k.routes}")
    typer.echo(f"objective         {plan.objective:.1f}")
    typer.echo(f"first feasible    {_fmt(first_s)} s")
    typer.echo(f"total time        {total_s:.2f} s")
    typer.echo(
        "work budget       "
        + ("cut by the clock (plan may vary between runs)" if plan.deadline_hit else "done (deterministic)")
    )
    typer.echo(
        f"peak memory       {own_mb:.0f} MB (this process) + {child_mb:.0f} MB (largest child)"
    )
    if violations:
        typer.secho(f"INVALID plan: {len(violations)} violation(s)", fg=typer.colors.RED)
        for v in violations[:10]:
            typer.echo(f"  {v}")
    else:
        typer.echo("validated         ok")

    if use_vroom:
        # exploration 5 on one thread, stopped at our time limit: the same budget
        ref = solve_vroom(problem, timeout_s=time_limit)
        typer.echo(
            f"vroom             served {ref.served}, travel time {ref.travel_time / 3600:.2f} h, "
            f"{ref.travel_distance / 1000:.1f} km, {ref.seconds:.2f} s "
            "(exploration 5, 1 thread, same time limit)"
        )
        ratio = k.travel_time / ref.travel_time if ref.travel_time else None
        typer.echo(
            f"ours vs vroom     served {k.assigned - ref.served:+d}, "
            f"travel time ratio {_fmt(ratio, 4)}"
        )
    if violations:
        raise typer.Exit(1)
from dispatch import bench_schedule  # noqa: E402, F401  (registers "bench schedule")
