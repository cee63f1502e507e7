"""Alembic revisions of slaflow's tables, oldest first by `down_revision`."""
