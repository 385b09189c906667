"""Alembic environment: always run in process by ``pipelines.catalog.migrate``, on the
connection (and inside the transaction, under the schema lock) it passes in."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from pipelines.catalog import models  # noqa: F401  (registers the tables)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `filmagg db upgrade`, not the alembic command")
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
