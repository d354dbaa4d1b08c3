"""Fails on import, as a plugin with a missing dependency would."""

raise RuntimeError("wingspan-broken fails on import on purpose")
