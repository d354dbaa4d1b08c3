"""The named errors of Spark tasks."""

from __future__ import annotations

from wingspan.plugin import UserError

__all__ = ["SparkExecutorError", "executor_failure"]

# the head of the error kept in the message: a JVM stack trace runs to hundreds of lines
_KEEP = 4000


class SparkExecutorError(UserError):
    """A Spark job of the task failed on an executor; the message carries the executor's
    exception (for a Python function, its traceback). Retried like any error a task
    raises: an executor may fail for a passing reason."""

    retryable = True


def executor_failure(exc: BaseException) -> str | None:
    """What to say when ``exc`` is a Spark job that failed on an executor, else None."""
    module = type(exc).__module__
    if not module.startswith(("pyspark", "py4j")):
        return None
    text = str(exc)
    from_python = type(exc).__name__ == "PythonException" or "Traceback (most recent call last)" in text
    if not (from_python or "stage failure" in text or "Job aborted" in text):
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    # the executor's own exception: the last line of a Python traceback, else Spark's first
    named = (line.strip() for line in reversed(lines) if not line.startswith((" ", "\t"))
             and ("Error" in line or "Exception" in line) and "Traceback" not in line)
    cause = next(named, lines[0] if lines else "")
    return (f"a Spark job of this task failed on an executor: {cause}\n"
            f"(what Spark reported, {type(exc).__name__}:)\n{text[:_KEEP]}")
