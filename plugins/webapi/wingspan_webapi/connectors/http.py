"""``http``: one templated HTTP request whose JSON answer gives the typed outputs (the
synchronous kind: the answer is there when the call returns)."""

from __future__ import annotations

from typing import Any, ClassVar

from wingspan.plugin import TaskPhase
from wingspan_webapi._connector import Api, Job, JobRequest, SyncConnector
from wingspan_webapi._templating import fill

__all__ = ["HttpConnector", "pick"]


class HttpConnector(SyncConnector):
    task_type: ClassVar[str] = "http"
    service: ClassVar[str] = "HTTP"

    async def call(self, api: Api, request: JobRequest) -> Job:
        spec = request.spec
        url = fill(spec["url"], request.inputs, in_url=True)
        headers = {k: str(fill(v, request.inputs)) for k, v in (spec.get("headers") or {}).items()}
        body = fill(spec["body"], request.inputs) if spec.get("body") is not None else None
        sent = Api(api.client, "", {**api.headers, **headers}, api.throttle, f"{request.where}: {url}",
                   turns=api.turns)
        response = await sent.request(spec["method"], url, json=body)
        fields: dict[str, str] = dict(spec.get("fields") or {})
        if not fields:
            return Job(TaskPhase.SUCCEEDED)
        try:
            answer = response.json()
        except ValueError:
            return Job(
                TaskPhase.FAILED,
                code="NOT_JSON",
                message=(
                    f"{request.where}: {url} answered {response.status_code} with "
                    f"{response.headers.get('content-type', 'no content type')}, not JSON; the outputs "
                    f"{', '.join(fields)} are read from a JSON answer"
                ),
            )
        outputs = {}
        for name, path in fields.items():
            found, value = pick(answer, path)
            if not found:
                return Job(
                    TaskPhase.FAILED,
                    code="NO_FIELD",
                    message=(
                        f"{request.where}: the answer of {url} has nothing at {path!r} for output {name!r}: "
                        f"{response.text[:300]}"
                    ),
                )
            outputs[name] = value
        return Job(TaskPhase.SUCCEEDED, outputs=outputs)


def pick(document: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted path (``data.items.0.id``; ``""`` is the whole document)."""
    value = document
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value
