"""The demo company, seeded and served the way `make demo` does it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TECNICO = [sys.executable, "-m", "dispatch.cli"]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TECNICO, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TECNICO_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    env["TECNICO_COMPANY_NAME"] = "Tecnico Climatização Ltda"
    env.pop("TECNICO_GEOCODER_URL", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_demo_is_seeded_once_and_served_with_working_tokens(demo_env, tmp_path):
    assert _run(["db", "upgrade"], demo_env, tmp_path).returncode == 0
    seeded = _run(["demo", "seed", "--customers", "30", "--technicians", "6", "--orders", "60", "--contracts", "5",
                   "--tokens-file", str(tmp_path / "tokens.txt")], demo_env, tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "6 technicians, 30 customers" in seeded.stdout
    again = _run(["demo", "seed", "--if-empty"], demo_env, tmp_path)
    assert again.returncode == 0 and "left as it is" in again.stdout
    tokens = dict(line.split("\t") for line in (tmp_path / "tokens.txt").read_text().splitlines())
    assert set(tokens) == {"admin", "dispatcher", "billing", "tec01"}

    port = _free_port()
    server = subprocess.Popen([*TECNICO, "serve", "--port", str(port)], env=demo_env,
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
        h = {"Authorization": f"Bearer {tokens['dispatcher']}"}
        orders = httpx.get(f"{base}/orders", params={"limit": 100}, headers=h, timeout=10).json()
        statuses = {o["status"] for o in orders["items"]}
        assert {"open", "ready", "closed"} <= statuses
        deals = httpx.get(f"{base}/contracts", headers=h, timeout=10).json()
        assert len(deals["items"]) == 5 and {c["status"] for c in deals["items"]} == {"active"}
        bills = httpx.get(f"{base}/invoices", headers={
            "Authorization": f"Bearer {tokens['billing']}"}, timeout=10).json()
        assert bills["items"], "closed demo orders carry invoices"
        pdf = httpx.get(f"{base}/invoices/{bills['items'][0]['id']}/pdf", timeout=20, headers={
            "Authorization": f"Bearer {tokens['billing']}"})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        mine = httpx.get(f"{base}/orders", params={"limit": 100}, headers={
            "Authorization": f"Bearer {tokens['tec01']}"}, timeout=10).json()["items"]
        everyone = {o["technician_id"] for o in orders["items"]} - {None}
        assert len(everyone) > 1
        assert mine and {o["technician_id"] for o in mine} == {mine[0]["technician_id"]}
    finally:
        server.terminate()
        server.wait(timeout=10)
