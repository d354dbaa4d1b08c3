"""A server with one execution whose task attempts a test records itself (as the engine
holding its lease): both transports as `wingspan serve` builds them, without the engine,
so the test decides what each attempt wrote and when."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.integration.services import flows
from tests.integration.services.builders import (
    TEST_ENGINE,
    ident,
    literals,
    register_workflow_with_tasks,
    take_lease,
)
from wingspan.core.config import Settings
from wingspan.core.plugins.executor import execution_work_dir
from wingspan.protos import v1
from wingspan.server.api.rpcs import AdminRpcs, EngineRpcs

RUN = "logged"


async def plugin_reader(handle: Any, offset: int) -> bytes:
    """The log reader of the plugin "fake": what it read is named after the handle's pod."""
    pod: str = handle["pod"]
    return (b"from the plugin for " + pod.encode())[offset:]


@dataclass
class Served:
    admin: Any
    backend: Any
    address: str
    folder: Path
    http_url: str
    sequence: int = 0

    async def attempt(self, node_id: str, attempt: int, phase: v1.TaskPhase, *, log: Path | str | None = None,
                      plugin: str = "", handle: object = None) -> None:
        """Records a task event of ``attempt`` at ``node_id`` of the execution RUN."""
        self.sequence += 1
        logs = [v1.TaskLog(name="stdout+stderr", uri=str(log))] if log is not None else []
        execution_id = v1.ExecutionId(project="default", domain="development", name=RUN)
        await EngineRpcs(self.admin.events).create_task_event(v1.TaskExecutionEvent(
            id=v1.TaskExecutionId(task_id=ident(1, flows.add.name, "v1"), attempt=attempt,
                                  node_execution_id=v1.NodeExecutionId(execution_id=execution_id,
                                                                       node_id=node_id)),
            producer_id=TEST_ENGINE, phase=phase, occurred_at=datetime.now(UTC), logs=logs, plugin=plugin,
            # stored as the engine stores handles: JSON
            plugin_handle=json.dumps(handle).encode() if handle is not None else b"",
            sequence=self.sequence))


@asynccontextmanager
async def serve_logs(settings: Settings) -> AsyncIterator[Served]:
    """``Served.folder`` is inside the server's logs folder, the only one whose files it reads."""
    import dataclasses

    from wingspan.server.serve import ApiServer

    settings = dataclasses.replace(settings, http_port=0, grpc_port=0)
    folder = execution_work_dir(settings.home / "logs", f"default/development/{RUN}")
    folder.mkdir(parents=True, exist_ok=True)
    async with ApiServer(settings, grace=1, engine=False) as server:
        admin = server.admin
        admin.logs.readers["fake"] = plugin_reader
        await register_workflow_with_tasks(admin, flows.pipeline, "v1")
        created = await AdminRpcs(admin).create_execution(v1.CreateExecutionRequest(
            project="default", domain="development", name=RUN,
            spec=v1.ExecutionSpec(entity_id=ident(2, flows.pipeline.name, "v1"), inputs=literals(x=1))))
        # the test records the attempts as the engine holding the lease
        await take_lease(admin, created.id)
        assert server.grpc is not None
        yield Served(admin, server.grpc.servicer.backend, server.grpc_address, folder, server.http_url)
