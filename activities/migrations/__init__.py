"""Alembic's environment for slaflow's own tables; `activities.schema` drives it from code."""
