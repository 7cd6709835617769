"""Imports run one way: solver <- nothing; contracts <- core; orders <- contracts, core."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = {"dispatch", "orders", "contracts", "solver"}

# package -> top-level packages of ours it may import
ALLOWED = {
    "solver": set(),
    "contracts": {"dispatch.core"},
    "orders": {"dispatch.core", "contracts"},
    "dispatch/core": {"dispatch.core"},
}
FOREIGN_TO_SOLVER = {"fastapi", "sqlalchemy", "pydantic", "starlette", "alembic"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(package: str) -> list[str]:
    bad = []
    for path in (ROOT / package).rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "solver" and package == "solver":
                continue
            if package == "solver" and top in FOREIGN_TO_SOLVER:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
            if top not in OURS:
                continue
            if top == package.split("/")[0] and package != "dispatch/core":
                continue
            if not any(name == a or name.startswith(a + ".") for a in ALLOWED[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_each_package_imports_only_what_lies_below_it():
    assert [v for p in ALLOWED for v in _violations(p)] == []


def test_the_checker_sees_a_forbidden_import(tmp_path, monkeypatch):
    fake = tmp_path / "contracts"
    fake.mkdir()
    (fake / "x.py").write_text("from orders.models import Order\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _violations("contracts") == ["contracts/x.py imports orders.models"]


def test_dispatch_init_stays_empty_so_the_kernel_pulls_in_nothing():
    assert (ROOT / "dispatch" / "__init__.py").read_text().strip() == ""
