"""Schemathesis hooks for tests/integration/test_fuzz_api.py (loaded via SCHEMATHESIS_HOOKS).

Beyond schemathesis' own checks: every 4xx must explain itself in `detail`, in words.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def four_xx_explains_itself(ctx: Any, response: Any, case: Any) -> bool | None:
    if not 400 <= response.status_code < 500:
        return None
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if not isinstance(detail, str) or len(detail) < 8:
        raise AssertionError(
            f"{response.status_code} without a readable `detail`: {response.text[:200]!r}"
        )
    return None
