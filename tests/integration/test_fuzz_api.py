"""schemathesis against the real API's OpenAPI document, over real HTTP to a real stack.

Positive and negative cases for every operation, as the admin: no 5xx, every status and body
as documented, malformed input refused, and every 4xx explains itself (fuzz_checks.py). The
run is bounded (examples per operation, a seed) so it is a test, not an open-ended search;
`SLAFLOW_FUZZ_EXAMPLES` raises the bound for a deeper run.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.api_support import ADMIN_TOKEN

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HOOKS = "tests.integration.fuzz_checks"
# Not ours to satisfy: ignored_auth would need every route open without a token to compare;
# positive_data_acceptance flags documented refusals (409 when a ticket refuses a command).
EXCLUDED_CHECKS = "positive_data_acceptance"


async def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    served_api: str, tmp_path: Path
) -> None:
    examples = os.environ.get("SLAFLOW_FUZZ_EXAMPLES", "15")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{served_api}/openapi.json",
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
