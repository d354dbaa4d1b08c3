"""Alembic's environment and the schema's revisions (``versions/``), shipped in the wheel."""
