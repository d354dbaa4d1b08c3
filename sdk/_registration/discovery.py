"""Finding the tasks, workflows and launch plans a Python file or module defines.

``wingspan run FILE ENTITY`` and ``wingspan register PATH`` import the user's code and
need its entities by fully qualified name: ``module.qualname`` for tasks and
workflows (the name they are registered under), their own name for launch plans and
container tasks. A file is imported under the module name it has in its package (the
top of the package goes on ``sys.path``), so the names match those the code gets when
its package is imported normally. Entities a module merely imports from elsewhere are
not its own and are left out.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any

from wingspan._authoring.container_task import ContainerTask
from wingspan._authoring.entity import Entity
from wingspan._authoring.launch_plan import LaunchPlan
from wingspan._authoring.plugin_task import PluginTask
from wingspan._authoring.shell_task import ShellTask
from wingspan._authoring.task import PythonTask
from wingspan._authoring.workflow import Workflow
from wingspan.core.errors import UserError

__all__ = ["EntityLoadError", "load_entities", "load_module", "module_name_for"]


class EntityLoadError(UserError, ImportError):
    """A file or module of user code could not be found or imported; the cause is chained."""


def module_name_for(path: Path) -> tuple[str, Path]:
    """The module name of a .py file and the folder to import it from: its own folder, or the
    folder above its outermost package (the folders holding ``__init__.py``)."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    root = path.parent
    while (root / "__init__.py").is_file():
        parts.insert(0, root.name)
        root = root.parent
    return ".".join(parts), root


def _where(exc: BaseException) -> str:
    """``file:line`` of the user code that raised, for the message (the traceback is chained)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" ({exc.filename}:{exc.lineno})"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "importlib" not in f.filename and not f.filename.startswith("<frozen")]
    return f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def _import(name: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit) as exc:
        raise EntityLoadError(f"{what}: importing it failed with {type(exc).__name__}: {exc}"
                              f"{_where(exc)}") from exc


def _load_file(path: Path) -> ModuleType:
    path = path.absolute()
    if not path.exists():
        raise EntityLoadError(f"{path}: no such file")
    if path.is_dir() or path.suffix != ".py":
        raise EntityLoadError(f"{path}: give a Python file (.py) or a dotted module path")
    name, root = module_name_for(path)
    if not all(part.isidentifier() for part in name.split(".")):
        raise EntityLoadError(f"{path}: its module name would be {name!r}, which Python cannot import; "
                              "rename the file (and its package folders) to valid identifiers")
    loaded = sys.modules.get(name)
    if loaded is not None:
        existing = getattr(loaded, "__file__", None)
        if existing and Path(existing).resolve() == path.resolve():
            return loaded
        raise EntityLoadError(f"{path}: its module name {name!r} is already taken by "
                              f"{existing or 'a built-in module'}; rename the file or put it in a package")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return _import(name, f"{path} (module {name!r})")


def load_module(target: str | PathLike[str]) -> ModuleType:
    """Imports a .py file (by path) or a module (by dotted name), naming the file and the
    cause when that fails."""
    text = str(target)
    if isinstance(target, PathLike) or text.endswith(".py") or "/" in text or "\\" in text:
        return _load_file(Path(text))
    try:
        return importlib.import_module(text)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (text == exc.name or text.startswith(exc.name + ".")):
            raise EntityLoadError(f"no module named {text!r}: give the path of a .py file, or put "
                                  "the module's folder on PYTHONPATH") from exc
        raise EntityLoadError(f"module {text!r}: importing it failed with {type(exc).__name__}: "
                              f"{exc}{_where(exc)}") from exc
    except (Exception, SystemExit) as exc:
        raise EntityLoadError(f"module {text!r}: importing it failed with {type(exc).__name__}: "
                              f"{exc}{_where(exc)}") from exc


def _defined_in(entity: Any, module: ModuleType) -> bool:
    fn = getattr(entity, "fn", None)
    if fn is not None:
        return getattr(fn, "__module__", None) == module.__name__
    made_in = getattr(entity, "defined_in", None)
    # a script registering itself (Remote.register(__file__)) made its launch plans as __main__,
    # and importing it again under its own name hands back those same plans (get_or_create)
    return made_in == module.__name__ or (made_in == "__main__" and _is_main_script(module))


def _is_main_script(module: ModuleType) -> bool:
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    own_file = module.__file__
    if not main_file or not own_file:
        return False
    return Path(main_file).resolve() == Path(own_file).resolve()


def load_entities(target: str | PathLike[str]) -> dict[str, Entity]:
    """The tasks, workflows, launch plans, container, shell and plugin tasks that a .py file (by path) or a
    module (by dotted name) defines, by fully qualified name, in definition order.

    A launch plan created without a name takes its workflow's; under that shared name the
    launch plan is listed, since it reaches its workflow (``plan.workflow``) and not the
    other way round.
    """
    module = load_module(target)
    kinds = (PythonTask, Workflow, LaunchPlan, ContainerTask, ShellTask, PluginTask)
    found: dict[str, Entity] = {}
    plans: list[LaunchPlan] = []
    for value in list(vars(module).values()):
        if isinstance(value, kinds) and _defined_in(value, module):
            if isinstance(value, LaunchPlan):
                plans.append(value)
            else:
                found.setdefault(value.name, value)
    # launch plans made at module level without being assigned to a name count too
    plans += [p for p in LaunchPlan._registry.values()
              if p not in plans and _defined_in(p, module)]
    for plan in plans:
        found[plan.name] = plan
    return found
