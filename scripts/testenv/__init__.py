"""The real services the tests need, installed and started on 127.0.0.1.

Run ``python -m scripts.testenv up [SERVICE ...]`` from the repository root
(``scripts/testenv.sh`` wraps it). Each service module exposes ``ensure()``,
which installs or builds what is missing (builds cached under
``~/.cache/wingspan-testenv``), starts the service unless it already answers, and
returns the connection facts as environment variables. ``up`` is idempotent.
"""
