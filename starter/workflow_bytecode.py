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
    """Make each workflow class's module cache current; returns the cache files now current.

    A cache that is already current (as `pip install` leaves in an image) is left alone, and a
    read-only source tree is not an error: the worker then runs as before, only slower."""
    current: list[Path] = []
    for module_name in sorted({cls.__module__ for cls in workflow_classes}):
        source = getattr(sys.modules.get(module_name), "__file__", None)
        if not source or not source.endswith(".py"):
            continue
        cache = Path(importlib.util.cache_from_source(source))
        if not _is_current(Path(source), cache):
            try:
                py_compile.compile(source, cfile=str(cache), doraise=True)
            except (OSError, py_compile.PyCompileError) as error:
                log.warning("could not write bytecode for %s: %s", module_name, error)
                continue
        current.append(cache)
    return current


def _is_current(source: Path, cache: Path) -> bool:
    """Whether Python would load `cache` for `source` (PEP 552 header: magic, flags, then the
    source's mtime and size, or a source hash, which Python checks itself)."""
    try:
        header = cache.read_bytes()[:16]
        stat = source.stat()
    except OSError:
        return False
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
        return False
    if int.from_bytes(header[4:8], "little") != 0:
        return True  # hash-based: validated against the source on import
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return mtime == int(stat.st_mtime) & 0xFFFFFFFF and size == stat.st_size & 0xFFFFFFFF
