"""``wingspan.plugin``, the one module plugin authors import: its names are pinned, it loads
no SDK or server module, and a notifier plugin built on it loads without the server."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import wingspan.plugin
from wingspan.core.config import Settings
from wingspan.core.plugins.manager import load_plugins
from wingspan.plugin import hookimpl

PINNED = [
    "TERMINAL", "BlobStore", "CloudEvent", "ConfigError", "DeliveryError", "ErrorKind", "EventSink",
    "ExecutionError", "Handle",
    "ImageBuilder", "ImageSpec", "InProcessTarget", "Literal", "LiteralMap", "LocalProcessTarget",
    "NonRetryableError", "Notice", "Notifier", "PluginTable", "ReadsLogs", "RunsChunks", "Settings",
    "TaskContext", "TaskEnvironment", "TaskLog", "TaskPhase", "TaskPlugin", "TaskStatus", "TaskTemplate",
    "TransferContext",
    "TypeTransformer", "UserError", "ValueMismatch", "WingspanError", "hookimpl", "load_for_bodies",
    "read_plugin_config", "resolve_task",
]


def test_the_public_plugin_module_offers_these_names_and_no_others() -> None:
    # a plugin written against these names keeps working: removing or renaming one breaks this test
    assert wingspan.plugin.__all__ == PINNED
    public = {n for n in vars(wingspan.plugin) if not n.startswith("_") and n != "annotations"}
    assert public == set(PINNED)


def test_they_are_the_objects_core_and_the_server_use() -> None:
    from wingspan.core.plugins import contract, hookspecs, notifier
    from wingspan.server.notify import senders
    from wingspan.server.services import notifications

    assert wingspan.plugin.TaskPlugin is contract.TaskPlugin
    assert wingspan.plugin.hookimpl is hookspecs.hookimpl
    # the server raises and catches the very DeliveryError a plugin raises
    # the modules import the name for their own use, not to export it, hence vars()
    delivery_errors = vars(senders)["DeliveryError"], vars(notifications)["DeliveryError"]
    assert delivery_errors[0] is delivery_errors[1] is wingspan.plugin.DeliveryError
    assert notifier.Notice is wingspan.plugin.Notice


def _modules_after(code: str) -> list[str]:
    code += "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=True)
    return [m for m in json.loads(done.stdout.splitlines()[-1]) if m.startswith("wingspan")]


def test_importing_it_loads_no_sdk_or_server_module() -> None:
    loaded = _modules_after("import wingspan.plugin")
    assert "wingspan.plugin" in loaded
    sdk_or_server = [m for m in loaded if m.startswith(("wingspan.server", "wingspan.cli", "wingspan._"))]
    assert sdk_or_server == []


def test_a_notifier_plugin_loads_without_the_server() -> None:
    # wingspan-echo (tests/plugins) is an installed distribution with a notifier built on wingspan.plugin
    # (only this plugin: the wingspan distribution's own "server" entry point is the server)
    code = ("from wingspan.core.plugins.manager import load_plugins\n"
            "from wingspan.plugin import Notifier\n"
            "import wingspan_echo.plugin as echo\n"
            "found = load_plugins(entry_points=False, extra=[('echo', echo)])\n"
            "assert isinstance(found.notifiers['echo'], Notifier), found.notifiers\n")
    loaded = _modules_after(code)
    assert "wingspan_echo.plugin" in loaded
    assert [m for m in loaded if m.startswith("wingspan.server")] == []


def test_a_notifier_that_is_not_one_is_refused_naming_the_kind() -> None:
    @hookimpl
    def wingspan_notifiers() -> dict[str, object]:
        return {"pager": object()}

    found = load_plugins(entry_points=False, extra=[("pager", types.SimpleNamespace(
        wingspan_notifiers=wingspan_notifiers))], settings=Settings.load(env={}))
    (failure,) = found.failed
    assert failure.stage == "wingspan_notifiers"
    assert "for 'pager', which is not a Notifier (it has no async send(target, notice))" in failure.error
