"""The HTTP intake and query API (FastAPI); `create_app` in `main` builds it."""
