"""Bytecode for the workflow modules, written once when a worker starts.

Temporal's sandbox executes a workflow's module afresh for every workflow run it starts. Python
loads that module from its cached bytecode when the cache is there; with PYTHONDONTWRITEBYTECODE
set (common in container images and CI machines) and no cache, it compiles the source again for
every new ticket, which was a third of the worker's CPU per ticket in `bench/intake.py`.
Writing the cache once at start is what Python would have done on first import anyway.
"""

from __future__ import annotations

import importlib.util
import logging
import py_compile
import sys
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("slaflow.worker")


def write_workflow_bytecode(workflow_classes: Iterable[type]) -> list[Path]:
    """Compile each workflow class's module to its cache path; returns the files written.

    A read-only source tree is not an error: the worker then runs as before, only slower."""
    written: list[Path] = []
    for module_name in sorted({cls.__module__ for cls in workflow_classes}):
        source = getattr(sys.modules.get(module_name), "__file__", None)
        if not source or not source.endswith(".py"):
            continue
        cache = Path(importlib.util.cache_from_source(source))
        try:
            py_compile.compile(source, cfile=str(cache), doraise=True)
        except (OSError, py_compile.PyCompileError) as error:
            log.warning("could not write bytecode for %s: %s", module_name, error)
            continue
        written.append(cache)
    return written
