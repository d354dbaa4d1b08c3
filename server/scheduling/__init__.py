"""Schedules: when launch plans fire. The tick arithmetic here is pure (a clock is passed
in), so tests need no waiting; the scheduler role records each tick once in the database."""
