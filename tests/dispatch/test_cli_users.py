"""Users and API tokens made on the command line, then used over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from dispatch.app import create_app
from dispatch.core.settings import Settings


def _tecnico(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatch.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_token_made_on_the_command_line_opens_the_api_and_only_its_hash_is_stored(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    env = {**os.environ, "TECNICO_DATABASE_URL": url}
    assert _tecnico("db", "upgrade", env=env).returncode == 0
    made = _tecnico("users", "create", "ana", "--role", "dispatcher", "--full-name", "Ana Lima",
                    env=env)
    assert made.returncode == 0 and "ana (dispatcher)" in made.stdout
    token = _tecnico("tokens", "create", "ana", env=env).stdout.strip()
    assert token.startswith("tcn_")

    stored = create_engine(url).connect().execute(text("SELECT token_hash FROM api_tokens")).all()
    assert len(stored) == 1 and token not in stored[0][0]

    with TestClient(create_app(Settings(database_url=url, geocoder_url=""))) as client:
        me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["username"] == "ana"
        assert client.get("/invoices", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_bad_users_and_unknown_names_are_refused_with_a_message(tmp_path: Path):
    env = {**os.environ, "TECNICO_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    assert _tecnico("db", "upgrade", env=env).returncode == 0
    bad_role = _tecnico("users", "create", "bob", "--role", "boss", env=env)
    assert bad_role.returncode == 2 and "unknown role 'boss'" in bad_role.stderr
    assert _tecnico("users", "create", "bob", "--role", "billing", env=env).returncode == 0
    twice = _tecnico("users", "create", "bob", "--role", "billing", env=env)
    assert twice.returncode == 2 and "exists" in twice.stderr
    nobody = _tecnico("tokens", "create", "zoe", env=env)
    assert nobody.returncode == 2 and "no user 'zoe'" in nobody.stderr
