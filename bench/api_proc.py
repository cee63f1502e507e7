"""The real API in its own process: uvicorn serving `create_app(settings)`.

    python bench/api_proc.py PORT

Settings come from SLAFLOW_* variables (the harness sets them, its API token among them;
requests carry `Stack.api_headers`). Access logging is off so the benchmark measures the API,
not its log lines.
"""

from __future__ import annotations

import sys

import uvicorn

from slaflow.settings import Settings
from starter.api.main import create_app


def main(port: int) -> None:
    app = create_app(Settings())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
