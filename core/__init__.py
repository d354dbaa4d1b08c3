"""Wingspan's core: types, model, compiler, engine and the plugin contract.

It does I/O only through narrow interfaces (blob store, state store, event sink,
catalog, task targets) and imports no web framework, ORM, gRPC stack or
Kubernetes client.
"""
