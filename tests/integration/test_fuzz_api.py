"""schemathesis against the real API's OpenAPI document, over real HTTP to a real stack.

The stack is this test's own (worker, database, API) in a namespace of the session's dev server
that no other test uses: the fuzzer lists and queries every ticket it can see, and tickets
other tests left behind (their workers gone) would only measure those tests.

Positive and negative cases for every operation, as the admin: no 5xx, every status and body
as documented, malformed input refused, and every 4xx explains itself (fuzz_checks.py). The
run is bounded (examples per operation, a seed) so it is a test, not an open-ended search;
`SLAFLOW_FUZZ_EXAMPLES` raises the bound for a deeper run.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.agreement_store import seed_agreements
from activities.db import create_tables, make_engine
from slaflow.settings import Settings
from starter.api.main import create_app
from starter.temporal_client import register_search_attributes
from tests.api_support import ADMIN_TOKEN
from tests.integration.conftest import ISOLATED_NAMESPACE, serving
from worker import build_worker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HOOKS = "tests.integration.fuzz_checks"
# Not ours to satisfy: ignored_auth would need every route open without a token to compare;
# positive_data_acceptance flags documented refusals (409 when a ticket refuses a command).
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.fixture
async def isolated_api(temporal: Client, settings: Settings, tmp_path: Path) -> AsyncIterator[str]:
    own = settings.model_copy(
        update={
            "temporal_namespace": ISOLATED_NAMESPACE,
            "task_queue": f"fuzz-{uuid.uuid4()}",
            "database_url": f"sqlite:///{tmp_path / 'fuzz.db'}",
        }
    )
    client = await Client.connect(
        own.temporal_address,
        namespace=ISOLATED_NAMESPACE,
        data_converter=pydantic_data_converter,
    )
    await register_search_attributes(client, ISOLATED_NAMESPACE)
    engine = make_engine(own.resolved_database_url)
    await asyncio.to_thread(create_tables, engine)
    await asyncio.to_thread(seed_agreements, engine, own.agreement_file)
    try:
        async with build_worker(client, own, engine):
            with serving(create_app(own)) as url:
                yield url
    finally:
        engine.dispose()


async def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    isolated_api: str, tmp_path: Path
) -> None:
    examples = os.environ.get("SLAFLOW_FUZZ_EXAMPLES", "15")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{isolated_api}/openapi.json",
        "--header",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--max-examples",
        examples,
        "--seed",
        "20261123",
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--generation-database",
        "none",
        "--report-dir",
        str(tmp_path),
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,  # schemathesis leaves a .schemathesis/ directory in its working dir
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert "No issues found" in text or "passed" in text, text[-2000:]


CONTROL_VALUES = ["\x00", "a\nb", "\r\n", "\x1b[31m", "\x7f", "%00"]


async def test_control_characters_in_every_query_string_never_answer_5xx(
    isolated_api: str,
) -> None:
    """Every operation of the real stack, each query parameter (or a made-up one) holding a
    control character: refused before anything reaches Temporal or the database."""
    async with httpx.AsyncClient(
        base_url=isolated_api, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    ) as http:
        document = (await http.get("/openapi.json")).json()
        for template, operations in document["paths"].items():
            path = re.sub(r"\{[^}]+\}", "x1", template)
            for method, operation in operations.items():
                names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
                for name in names or ["q"]:
                    for value in CONTROL_VALUES:
                        answer = await http.request(method.upper(), path, params={name: value})
                        assert answer.status_code < 500, (method, template, name, value)
