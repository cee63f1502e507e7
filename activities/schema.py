"""slaflow's database schema under Alembic: upgrade to the code's head, or say how far off it is.

The Alembic environment ships inside the package (`activities/migrations`) and is driven from
here with Alembic's Config API, so `slaflow db ...`, the worker and the API need no alembic.ini
in their working directory. Upgrades hold a lock (a PostgreSQL advisory lock, or a lock file
beside a SQLite database), so processes starting together migrate once.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from activities import db  # noqa: F401  (registers every table on SQLModel.metadata)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
BASELINE_REVISION = "0001"
"""The schema `create_tables` made before migrations existed: an unversioned database holding
these tables is stamped with it, then upgraded."""
BASELINE_TABLES = frozenset(
    {"agreement_versions", "ticket_facts", "notifications", "amendment_commits"}
)
log = logging.getLogger("slaflow.schema")
_ADVISORY_LOCK_KEY = 0x51AF10  # any constant; the same for every slaflow process


class SchemaNotCurrent(RuntimeError):
    """The database is not at the code's revision; the message says what to run."""


@dataclass
class SchemaStatus:
    """Where a database stands against the code: its revision, the head, and model drift."""

    current: str | None
    head: str
    drift: list[str] = field(default_factory=list)

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def ok(self) -> bool:
        return self.at_head and not self.drift

    def problem(self) -> str | None:
        """One sentence saying what is wrong and what to do, or None when all is well."""
        if self.current is None:
            return (
                f"the database has no slaflow schema (expected revision {self.head}): "
                "run `slaflow db upgrade`"
            )
        if not self.at_head:
            return (
                f"the database is at revision {self.current}, the code needs {self.head}: "
                "run `slaflow db upgrade`"
            )
        if self.drift:
            return (
                f"the tables differ from the models at revision {self.head} "
                f"({'; '.join(self.drift)}): add a revision with `slaflow db revision -m ...`"
            )
        return None


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    """The packaged Alembic environment, on `connection` (or `url`), without an alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no Alembic revisions in {MIGRATIONS_DIR / 'versions'}")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _include_known(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave alone tables of others that share the database (they are no drift of ours)."""
    return not (type_ == "table" and reflected and compare_to is None)


def drift(engine: Engine, *, strict: bool = False) -> list[str]:
    """How the database's tables differ from the models, as readable lines (empty: none).
    `strict` also reports tables the models do not know."""
    with engine.connect() as connection:
        return _drift_on(connection, strict=strict)


def _drift_on(connection: Connection, *, strict: bool) -> list[str]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "include_object": None if strict else _include_known},
    )
    return [_describe(difference) for difference in compare_metadata(context, SQLModel.metadata)]


def _describe(difference: Any) -> str:
    """alembic's diff tuples ("add_column", schema, table, Column) as a short phrase."""
    if isinstance(difference, list):  # modifications of one column come as a list
        return ", ".join(_describe(item) for item in difference)
    kind, *rest = difference
    if kind in ("add_table", "remove_table"):
        return f"{kind.replace('_', ' ')} {rest[0].name}"
    if kind in ("add_column", "remove_column"):
        return f"{kind.replace('_', ' ')} {rest[1]}.{rest[2].name}"
    if kind in ("add_index", "remove_index"):
        return f"{kind.replace('_', ' ')} {rest[0].name}"
    if kind.startswith("modify_"):
        return f"{kind.replace('_', ' ')} {rest[1]}.{rest[2]}"
    return " ".join(str(part) for part in difference)


def schema_status(engine: Engine) -> SchemaStatus:
    current = current_revision(engine)
    head = head_revision()
    return SchemaStatus(current=current, head=head, drift=drift(engine) if current == head else [])


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other slaflow process migrates beside."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
            )
            yield connection
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        with engine.begin() as connection:
            yield connection
        return
    with open(f"{database}.migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with engine.begin() as connection:
                yield connection
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate to `revision` (default: head); returns the revision the database is at after.

    A database made by `create_tables` (its tables present, no version recorded) is adopted:
    stamped with the head when it matches the models, else with the baseline revision (what
    `create_tables` made before migrations existed), and then upgraded.
    """
    with _migration_lock(engine) as connection:
        config = alembic_config(connection)
        before = MigrationContext.configure(connection).get_current_revision()
        if before is None:
            existing = set(inspect(connection).get_table_names())
            if existing >= BASELINE_TABLES:
                matches = not _drift_on(connection, strict=False)
                command.stamp(config, "head" if matches else BASELINE_REVISION)
        command.upgrade(config, revision)
        after = MigrationContext.configure(connection).get_current_revision()
    if after != before:
        log.info("database upgraded from %s to %s", before or "empty", after)
    return after


def downgrade(engine: Engine, revision: str) -> str | None:
    """Migrate down to `revision` ("base" removes every table of slaflow)."""
    with _migration_lock(engine) as connection:
        command.downgrade(alembic_config(connection), revision)
        return MigrationContext.configure(connection).get_current_revision()


def prepare_schema(engine: Engine, *, auto_migrate: bool) -> None:
    """At process start: upgrade to head (the embedded default), or, when migrations are an
    operator's step (SLAFLOW_DB_AUTO_MIGRATE=false), refuse to run on an older schema."""
    if auto_migrate:
        upgrade(engine)
        return
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        problem = SchemaStatus(current=current, head=head).problem()
        raise SchemaNotCurrent(problem or "the database schema is not current")


def revision(message: str, engine: Engine, *, autogenerate: bool = True) -> str:
    """Write a new revision file comparing the models with `engine`'s database (which must be at
    head); returns its path. For developers: the file lands in the source tree."""
    with engine.begin() as connection:
        config = alembic_config(connection)
        ruff = Path(sys.executable).with_name("ruff")
        if ruff.is_file():  # format the new file as the project's code is
            config.set_section_option("post_write_hooks", "hooks", "ruff")
            config.set_section_option("post_write_hooks", "ruff.type", "exec")
            config.set_section_option("post_write_hooks", "ruff.executable", str(ruff))
            config.set_section_option(
                "post_write_hooks", "ruff.options", "format REVISION_SCRIPT_FILENAME"
            )
        script = command.revision(
            config,
            message=message,
            autogenerate=autogenerate,
            rev_id=_next_rev_id(),
        )
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    return str(script.path)


def _next_rev_id() -> str:
    """Revisions are numbered 0001, 0002, ... so their files sort in order."""
    revisions = list(ScriptDirectory.from_config(alembic_config()).walk_revisions())
    numbers = [int(r.revision) for r in revisions if r.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"
