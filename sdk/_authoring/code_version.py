"""The default cache version of a task: a digest of its source and of the user code it
calls, so that an edit anywhere in that code never meets a stale cache entry.

From the task's function, the digest follows the global names its code uses
(nested functions and lambdas included), transitively: functions and classes of user
modules by their source, user modules used as namespaces (``helpers.f()``) by their
whole file, simple constants by value. User code is whatever is not Wingspan, the
standard library or an installed library (site-packages). A name the function uses
that is not defined yet (a helper defined further down, after the workflow) makes the
digest take the whole of the function's module: coarser, never stale.
"""

from __future__ import annotations

import dis
import hashlib
import inspect
import os
import site
import sys
import sysconfig
import types
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

__all__ = ["code_version"]

_CONSTANTS = (int, float, str, bytes, bool, type(None))


@cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.update(site.getsitepackages())
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        roots.add(site.getusersitepackages())
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots))


def _module_file(name: str) -> str:
    module = sys.modules.get(name)
    return str(getattr(module, "__file__", "") or "")


@cache
def _is_user_module(name: str) -> bool:
    if not name or name == "wingspan" or name.startswith("wingspan.") or name in sys.builtin_module_names:
        return False
    path = _module_file(name)
    if not path:
        return False
    return not os.path.realpath(path).startswith(_library_roots())


def _names(code: types.CodeType) -> Iterator[str]:
    """The global names a code object (and the code nested in it) loads."""
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            yield str(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _source(obj: Any) -> bytes:
    try:
        return inspect.getsource(obj).encode()
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        return code.co_code + repr(code.co_consts).encode() if code is not None else repr(obj).encode()


class _Digest:
    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.seen: set[int] = set()
        self.modules: set[str] = set()

    def add(self, label: str, data: bytes) -> None:
        self.hash.update(label.encode() + b"\0" + data + b"\0")

    def module(self, name: str) -> None:
        if name in self.modules:
            return
        self.modules.add(name)
        path = _module_file(name)
        try:
            with open(path, "rb") as source:
                self.add(f"module {name}", source.read())
        except OSError:
            self.add(f"module {name}", b"?")

    def value(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType):
            if _is_user_module(value.__name__):
                self.module(value.__name__)
            return
        if isinstance(value, _CONSTANTS):
            self.add(f"constant {name}", repr(value).encode())
            return
        if isinstance(value, tuple) and all(isinstance(v, _CONSTANTS) for v in value):
            self.add(f"constant {name}", repr(value).encode())
            return
        target = value
        # tasks and decorated functions: follow them to the function inside
        while not isinstance(target, (types.FunctionType, type)):
            inner = getattr(target, "fn", None) or getattr(target, "__wrapped__", None)
            if inner is None or inner is target:
                return
            target = inner
        if not _is_user_module(getattr(target, "__module__", "") or ""):
            return
        if isinstance(target, type):
            self.klass(target)
        else:
            self.function(target)

    def klass(self, cls: type) -> None:
        if id(cls) in self.seen:
            return
        self.seen.add(id(cls))
        self.add(f"class {cls.__module__}.{cls.__qualname__}", _source(cls))
        for member in vars(cls).values():
            function = getattr(member, "__func__", member)
            if isinstance(function, types.FunctionType):
                self.function(function, own_source=False)

    def function(self, fn: types.FunctionType, own_source: bool = True) -> None:
        fn = inspect.unwrap(fn)
        if id(fn) in self.seen:
            return
        self.seen.add(id(fn))
        if own_source:
            self.add(f"function {fn.__module__}.{fn.__qualname__}", _source(fn))
        scope = fn.__globals__
        builtins = scope.get("__builtins__", {})
        builtin_names = builtins if isinstance(builtins, dict) else vars(builtins)
        for name in sorted(set(_names(fn.__code__))):
            if name in scope:
                self.value(name, scope[name])
            elif name not in builtin_names and _is_user_module(fn.__module__):
                # a global not defined yet (a helper further down): the module covers it
                self.module(fn.__module__)
        for cell in fn.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            self.value("<closure>", contents)


def code_version(fn: Callable[..., Any]) -> str:
    """A digest of ``fn``'s source and of the user code it reaches (see the module doc)."""
    digest = _Digest()
    if isinstance(fn, types.FunctionType):
        digest.function(fn)
    else:
        digest.add("callable", _source(fn))
    return digest.hash.hexdigest()[:32]
