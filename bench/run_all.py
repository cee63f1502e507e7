"""Every benchmark, one after the other, with small sizes; one JSON document out.

    python bench/run_all.py [--scale 1.0] [--only intake,query_latency] [--out PATH]
    make bench

Each benchmark runs in its own process with its own dev server, so none sees another's
workflows. The document (machine info, each benchmark's figures, and a summary of the ratios
against the bare Temporal baseline) goes to stdout and to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import BENCH_DIR, emit, log, machine_info

SIZES: dict[str, dict[str, int]] = {
    "intake": {"--tickets": 300},
    "intake_agreements": {"--tickets": 300},
    "open_tickets": {"--tickets": 500},
    "escalation_latency": {"--tickets": 200},
    "query_latency": {"--tickets": 400, "--samples": 200},
}
"""Small enough that everything together takes a few minutes on a 2-core machine."""

TIMEOUT_S = 900


def run_one(name: str, scale: float) -> dict[str, Any]:
    args = [sys.executable, str(BENCH_DIR / f"{name}.py")]
    for flag, size in SIZES[name].items():
        args += [flag, str(max(1, round(size * scale)))]
    log(f"=== {name}: {' '.join(args[2:])}")
    began = time.monotonic()
    try:
        done = subprocess.run(
            args,
            stdout=subprocess.PIPE,
            stderr=None,  # progress shows as it happens
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {TIMEOUT_S}s"}
    wall = round(time.monotonic() - began, 1)
    if done.returncode != 0:
        return {"ok": False, "error": f"exit code {done.returncode}", "wall_s": wall}
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        return {"ok": False, "error": f"output is not JSON: {exc}", "wall_s": wall}
    log(f"=== {name}: done in {wall}s")
    return {"ok": True, "wall_s": wall, **result}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument(
        "--out", type=Path, default=BENCH_DIR / "results" / "latest.json", help="also write here"
    )
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(SIZES)
    unknown = set(names) - set(SIZES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    document: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_info(),
        "note": "Indicative: one run on a shared machine; compare the ratios, which were "
        "measured against bare Temporal in the same run on the same dev server.",
        "summary": {},
        "ratios_vs_baseline": {},
        "benchmarks": {},
    }
    for name in names:
        result = run_one(name, args.scale)
        document["benchmarks"][name] = result
        document["summary"][name] = result.get("summary", {"error": result.get("error")})
        if "ratios_vs_baseline" in result:
            document["ratios_vs_baseline"][name] = result["ratios_vs_baseline"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2, default=str) + "\n")
    log(f"written to {args.out}")
    emit(document)
    return 0 if all(r.get("ok") for r in document["benchmarks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
