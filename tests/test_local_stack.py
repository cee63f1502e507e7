"""Commands beside a running `slaflow run`: doctor checks the stack's own stand-ins, a second
start says the stack is already running, and `slaflow demo` plays its scenario against it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from starter.stack_record import read_record, record_path
from tests.test_stack import SLAFLOW, Stack, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("local") / "data")
    try:
        stack.start()
        wait_for(lambda: read_record(stack.data_dir) is not None, 30, "the stack's record")
        yield stack
        assert stack.interrupt() == 0, stack.log()
        assert not record_path(stack.data_dir).exists()  # the record goes with the stack
    finally:
        stack.kill_leftovers()


def _slaflow(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SLAFLOW), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _beside(stack: Stack) -> dict[str, str]:
    """A shell beside the stack: only the data dir is set, as after `cd` into the clone."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLAFLOW_")}
    return {**clean, "SLAFLOW_DATA_DIR": str(stack.data_dir)}


def test_doctor_checks_the_stacks_own_slack_standin_and_mailbox(running: Stack) -> None:
    record = read_record(running.data_dir)
    assert record is not None and record.api_url == running.url
    assert "SLAFLOW_API_TOKENS" not in record_path(running.data_dir).read_text()
    done = _slaflow("doctor", env=_beside(running))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("checking the local stack of `slaflow run` (pid ")
    standin = running.env["SLAFLOW_SLACK_STANDIN_PORT"]
    smtp = running.env["SLAFLOW_SMTP_PORT"]
    slack = next(line for line in lines if line.split()[1:2] == ["slack"])
    assert slack.startswith("ok") and f"http://127.0.0.1:{standin}/api/" in slack, slack
    mail = next(line for line in lines if line.split()[1:2] == ["smtp"])
    assert mail.startswith("ok") and f"127.0.0.1:{smtp}" in mail, mail
    assert "slack.com" not in done.stdout


def test_a_second_start_says_the_stack_is_already_running(running: Stack, tmp_path: Path) -> None:
    again = _slaflow("run", env=running.env, timeout=60)
    assert again.returncode == 1
    assert again.stdout.strip().splitlines() == [
        f"error: slaflow is already running on {running.data_dir} (pid "
        f"{read_record(running.data_dir).pid}, API at {running.url}); use it, or stop it "  # type: ignore[union-attr]
        "(Ctrl-C in its terminal) first"
    ]
    elsewhere = _slaflow("run", env={**running.env, "SLAFLOW_DATA_DIR": str(tmp_path)}, timeout=60)
    assert elsewhere.returncode == 1
    [line] = elsewhere.stdout.strip().splitlines()
    assert line.startswith("error: port ") and f"{running.api_port} (API)" in line, line
    assert "already in use: is slaflow already running" in line
    assert "Traceback" not in elsewhere.stdout + elsewhere.stderr


def test_demo_plays_its_scenario_against_the_stack(running: Stack) -> None:
    played = _slaflow("demo", "--watch", "0", env=_beside(running))
    assert played.returncode == 0, played.stdout + played.stderr
    out = played.stdout
    for step in ("1. Opening tickets", "2. People at work", "3. Changing the agreement"):
        assert step in out, out
    assert "acknowledging is not responding" in out
    assert "(acme, agreement acme-gold)" in out and "(globex, agreement globex-hosting)" in out
    assert "Signed by everyone: version 2 is in force" in out
    assert f"Slack stand-in   http://127.0.0.1:{running.env['SLAFLOW_SLACK_STANDIN_PORT']}/" in out
    ids = [
        line.split()[0]
        for line in out.splitlines()
        if line.startswith("   DEMO-") and " via " in line
    ]
    assert len(ids) == 5, out
    states = {
        tid: httpx.get(f"{running.url}/tickets/{tid}", headers=running.headers, timeout=30).json()
        for tid in ids
    }
    by_priority = {s["priority"]: s for s in states.values()}
    assert by_priority["P2"]["acknowledged_by"].startswith("Alice Agent via admin token ")
    responded = [t for t in by_priority["P3"]["targets"] if t["kind"] == "first_response"]
    assert responded[0]["met_at"] is not None
    assert by_priority["P4"]["status"] == "waiting_on_customer"
    versions = httpx.get(
        f"{running.url}/agreement/versions", headers=running.headers, timeout=30
    ).json()
    assert [v["number"] for v in versions] == [1, 2]


def test_demo_without_a_stack_says_how_to_start_one(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLAFLOW_")}
    done = _slaflow("demo", env={**clean, "SLAFLOW_DATA_DIR": str(tmp_path)}, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: no slaflow is running on {tmp_path}; start one in another terminal with "
        "`make run AGREEMENT=demo` (or `slaflow run --agreement demo`), then run this again"
    )
