"""The worker writes its workflow modules' bytecode once, so the sandbox does not compile the
source for every new ticket when PYTHONDONTWRITEBYTECODE is set."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import worker
from starter.workflow_bytecode import write_workflow_bytecode


@pytest.fixture
def workflow_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """A workflow-like class in a module of its own, imported without writing bytecode."""
    package = tmp_path / "bytecode_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "flow.py").write_text("class ProbeWorkflow:\n    answer = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    module = importlib.import_module("bytecode_probe.flow")
    yield module.ProbeWorkflow
    for name in ("bytecode_probe.flow", "bytecode_probe"):
        sys.modules.pop(name, None)


def test_writes_the_cache_python_would_load(workflow_module: type) -> None:
    source = sys.modules[workflow_module.__module__].__file__
    assert source is not None
    cache = Path(importlib.util.cache_from_source(source))
    assert not cache.exists()

    written = write_workflow_bytecode([workflow_module, workflow_module])

    assert written == [cache]
    spec = importlib.util.spec_from_file_location("probe_again", source)
    assert spec is not None and spec.loader is not None
    # The source loader finds the cache valid: it reads it and never compiles the source.
    loader = spec.loader
    assert isinstance(loader, importlib.machinery.SourceFileLoader)

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled the source although the cache was written")

    loader.source_to_code = no_compiling  # type: ignore[method-assign,assignment]
    namespace: dict[str, object] = {}
    code = loader.get_code("probe_again")
    assert code is not None
    exec(code, namespace)
    assert namespace["ProbeWorkflow"].answer == 42  # type: ignore[attr-defined]


def test_an_unwritable_cache_is_logged_not_raised(
    workflow_module: type, caplog: pytest.LogCaptureFixture
) -> None:
    source = sys.modules[workflow_module.__module__].__file__
    assert source is not None
    # A file where the cache directory belongs: no one, not even root, can write the cache.
    (Path(source).parent / "__pycache__").write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="slaflow.worker"):
        assert write_workflow_bytecode([workflow_module]) == []
    assert "could not write bytecode for bytecode_probe.flow" in caplog.text


def test_the_worker_covers_every_workflow_module() -> None:
    written = write_workflow_bytecode(worker.WORKFLOWS)
    assert sorted(path.name.split(".")[0] for path in written) == [
        "amendment",
        "service_level_watch",
        "ticket",
    ]
    assert all(path.exists() for path in written)


def test_the_sandbox_shares_the_deterministic_modules() -> None:
    """Workflow modules are re-executed per run; what they import must not be."""
    passthrough = worker.WORKFLOW_RUNNER.restrictions.passthrough_modules
    for module in (
        "slaflow",
        "workflows.activity_calls",
        "workflows.amendment_calls",
        "workflows.service_level_calls",
    ):
        assert module in passthrough
    assert "workflows.ticket" not in passthrough


def test_a_current_cache_is_left_alone(workflow_module: type) -> None:
    """An image's caches (written by pip, owned by root) must not make the worker warn."""
    source = sys.modules[workflow_module.__module__].__file__
    assert source is not None
    [cache] = write_workflow_bytecode([workflow_module])
    written_at = cache.stat().st_mtime_ns
    cache.parent.chmod(0o555)
    try:
        assert write_workflow_bytecode([workflow_module]) == [cache]
    finally:
        cache.parent.chmod(0o755)
    assert cache.stat().st_mtime_ns == written_at

    Path(source).write_text("class ProbeWorkflow:\n    answer = 43\n")  # edited: stale cache
    os.utime(source, ns=(written_at + 2_000_000_000, written_at + 2_000_000_000))
    assert write_workflow_bytecode([workflow_module]) == [cache]
    assert cache.stat().st_mtime_ns != written_at
