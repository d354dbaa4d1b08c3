"""Registering code with a server (``Remote.register``): the entities of a folder, a file or
a list, their code bundle uploaded through the data proxy, then each entity registered.

The bundle goes up only when the server lacks it: a first task whose very template (naming
this very bundle) is registered already was registered after its bundle was uploaded, so
unchanged code re-registers with a few calls and no upload.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import anyio

from wingspan._registration.bundle import build_bundle
from wingspan._registration.discovery import load_entities, module_name_for
from wingspan._registration.images import ensure_images
from wingspan._registration.plan import plan_registration
from wingspan._remote.transport import Transport
from wingspan._remote.uploads import put_signed
from wingspan.core.errors import NotFoundError, UserError
from wingspan.core.model import codec
from wingspan.protos import v1

__all__ = ["Registered", "register"]


class Registered(dict[str, bool]):
    """{entity name: newly created} of one registration, and the ``version`` registered."""

    def __init__(self, version: str) -> None:
        super().__init__()
        self.version = version


async def register(transport: Transport, target: Any, project: str, domain: str,
                   version: str | None, *, build_images: bool = False) -> Registered:

    # importing user code and packing it block: a worker thread does it
    entities, bundle = await anyio.to_thread.run_sync(_collect, target)
    version = version or bundle.version
    md5 = hashlib.md5(bundle.data).digest()
    location = await transport.call("create_upload_location", v1.CreateUploadLocationRequest(
        project=project, domain=domain, filename=f"bundle-{bundle.digest[:16]}.tar.gz", content_md5=md5),
        "get an upload location")
    plan = plan_registration(entities, project=project, domain=domain, version=version,
                             bundle_uri=str(location.native_url))
    # before anything is registered: an ImageSpec's image must be in its registry
    await anyio.to_thread.run_sync(lambda: ensure_images(plan.tasks, build=build_images))
    if not await _registered_before(transport, plan.tasks[:1]):
        await put_signed(transport.endpoint, location, bundle.data, md5, "the code bundle")
    created = Registered(version)

    async def one(method: str, request: Any, what: str, name: str) -> None:
        created[name] = (await transport.call(method, request, what)).created

    # a workflow refers to its tasks and the launch plans it calls, a launch plan to its workflow
    async with anyio.create_task_group() as group:
        for task_id, template in plan.tasks:
            group.start_soon(one, "register_task", v1.RegisterTaskRequest(
                id=codec.to_proto(task_id), template=codec.to_proto(template)),
                f"register task {task_id}", task_id.name)
    for workflows, launch_plans in plan.stages():
        async with anyio.create_task_group() as group:
            for wf_id, wf_template, subs in workflows:
                group.start_soon(one, "register_workflow", v1.RegisterWorkflowRequest(
                    id=codec.to_proto(wf_id), template=codec.to_proto(wf_template),
                    sub_workflows=[codec.to_proto(s) for s in subs]), f"register workflow {wf_id}",
                    wf_id.name)
        async with anyio.create_task_group() as group:
            for lp_id, spec in launch_plans:
                group.start_soon(one, "register_launch_plan", v1.RegisterLaunchPlanRequest(
                    id=codec.to_proto(lp_id), spec=codec.to_proto(spec)), f"register launch plan {lp_id}",
                    lp_id.name)
    return created


async def _registered_before(transport: Transport, tasks: list[Any]) -> bool:
    """Whether this very task template (naming this very bundle) is registered already."""

    if not tasks:
        return False
    task_id, template = tasks[0]
    try:
        found = await transport.call("get_task", v1.GetEntityRequest(id=codec.to_proto(task_id)),
                                   f"get task {task_id}")
    except NotFoundError:
        return False
    return bool(found.template == codec.to_proto(template))


def _collect(target: Any) -> tuple[list[Any], Any]:
    """The entities to register and the bundle of their code: a folder (every Python file
    under it), a file, or entity objects. The bundle holds the folder they are imported from:
    theirs, or the one above their outermost package, so a worker imports them by the same
    module names."""

    if isinstance(target, (str, os.PathLike)):
        path = Path(target).resolve()
        if not path.is_dir():
            return list(load_entities(path).values()), build_bundle(module_name_for(path)[1])
        package = path / "__init__.py"
        root = module_name_for(package)[1] if package.is_file() else path
        bundle = build_bundle(root)
        sources = [root / f for f in bundle.files if f.endswith(".py") and (root / f).is_relative_to(path)]
        return [e for source in sources for e in load_entities(source).values()], bundle
    entities = list(target)
    return entities, build_bundle(module_name_for(Path(_source_file(entities)))[1])


def _source_file(entities: list[Any]) -> str:
    for entity in entities:
        fn = getattr(entity, "fn", None) or getattr(getattr(entity, "workflow", None), "fn", None)
        module = sys.modules.get(getattr(fn, "__module__", ""), None)
        path = getattr(module, "__file__", None)
        if path:
            return str(path)
    raise UserError("cannot tell where these entities' code lives; register a folder or file instead")
