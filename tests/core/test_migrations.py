from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dispatch.registry import load_metadata


def test_the_migrations_build_exactly_the_models(connection):
    """Fails when a model changed without its migration (python -m dispatch.migrations.regen)."""
    ctx = MigrationContext.configure(connection, opts={"compare_type": False})
    diff = [d for d in compare_metadata(ctx, load_metadata())
            if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name.startswith("probe_"))]
    assert diff == []
