"""Alembic environment: runs against the engine the caller hands in (see schutz.db.migrate)."""

from alembic import context

from schutz.models import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
