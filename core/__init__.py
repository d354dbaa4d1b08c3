"""Wingspan's core: types, model, compiler, engine and the plugin contract.

It does I/O only through narrow interfaces (blob store, state store, event sink,
catalog, task targets) and imports no web framework, ORM, gRPC stack or
Kubernetes client.
"""

# its packages and modules; each says what it offers in its own __all__ (loaded on first use)
__all__ = [
    "api_level", "bundles", "catalog", "compiler", "config", "engine", "errors", "model", "plugins",
    "schedules", "secret_files", "storage", "types", "version",
]
