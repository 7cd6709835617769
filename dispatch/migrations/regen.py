"""Regenerate the single initial migration from the models.

Until Tecnico has been released there is one migration, ``0001_initial``,
rewritten from the models whenever they change (``python -m
dispatch.migrations.regen``); a test fails when it and the models disagree.
After the first release, migrations are added, never rewritten.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from dispatch.migrate import MIGRATIONS, alembic_config


def main() -> None:
    versions = MIGRATIONS / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'empty.db'}"
        cfg = alembic_config(url)
        command.revision(cfg, message="initial", autogenerate=True, rev_id="0001",
                         version_path=str(versions))
    for new in versions.glob("0001_*.py"):
        new.rename(versions / "0001_initial.py")
    print("wrote", versions / "0001_initial.py")


if __name__ == "__main__":
    main()
