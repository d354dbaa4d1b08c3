"""A plugin's configuration: its table of the one config file (``[plugins.<name>]``) and its
``WINGSPAN_PLUGINS__<NAME>__<KEY>`` environment variables, checked against the schema the
plugin declares (``wingspan_config_schema``: a dataclass or a pydantic model) and handed to
its hooks as ``config``.

A value that does not fit is refused with an error naming the plugin, the key, where the
value was set and what is expected; so is a key the schema does not have. Values from the
environment are text: numbers and booleans are read from it, lists and tables as JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard, TypeVar

from wingspan.core.config import PLUGIN_ENV_PREFIX, PluginTable, plugin_key
from wingspan.core.errors import ConfigError

__all__ = ["is_config_schema", "read_plugin_config"]

T = TypeVar("T")


def is_config_schema(schema: object) -> TypeGuard[type]:
    """Whether ``schema`` is a type a plugin's configuration can be read into."""
    return isinstance(schema, type) and (dataclasses.is_dataclass(schema) or _is_pydantic(schema))


def read_plugin_config(plugin: str, schema: type[T], table: PluginTable | Mapping[str, Any]) -> T:
    """An instance of ``schema`` from the plugin's ``table``; raises ConfigError naming the
    plugin and the key when a key is unknown, a required one is missing or a value does
    not fit."""
    if not isinstance(table, PluginTable):
        table = PluginTable(dict(table), {})
    reader = _Reader(plugin, table)
    if _is_pydantic(schema):
        return reader.pydantic(schema)
    if dataclasses.is_dataclass(schema):
        return reader.dataclass(schema, dict(table.values), "")
    raise TypeError(f"plugin {plugin!r}: its configuration schema {schema!r} is neither a dataclass nor "
                    "a pydantic model")


def _is_pydantic(schema: object) -> bool:
    try:
        from pydantic import BaseModel
    except ImportError:  # pragma: no cover - pydantic is a dependency of wingspan
        return False
    return isinstance(schema, type) and issubclass(schema, BaseModel)


@dataclasses.dataclass
class _Reader:
    plugin: str
    table: PluginTable

    def where(self, key: str) -> str:
        top = key.split(".", 1)[0]
        return self.table.where(top) or f"[plugins.{self.plugin}]"

    def refuse(self, key: str, value: Any, expected: str) -> ConfigError:
        return ConfigError(f"plugin {self.plugin!r}: invalid value {value!r} for {key!r} "
                           f"({self.where(key)}): expected {expected}")

    def check_known(self, given: Mapping[str, Any], known: list[str], prefix: str) -> None:
        for key in given:
            if key not in known:
                raise ConfigError(f"plugin {self.plugin!r} has no setting {prefix + key!r} "
                                  f"({self.where(prefix + key)}); its settings: {', '.join(known) or 'none'}")

    def missing(self, key: str) -> ConfigError:
        variable = f"{PLUGIN_ENV_PREFIX}{plugin_key(self.plugin).upper()}__{key.upper()}"
        return ConfigError(f"plugin {self.plugin!r} needs the setting {key!r}: set it in "
                           f"[plugins.{self.plugin}] of the config file, or as the environment variable "
                           f"{variable}")

    def dataclass(self, schema: type[T], given: dict[str, Any], prefix: str) -> T:
        fields = [f for f in dataclasses.fields(schema) if f.init]  # type: ignore[arg-type]
        self.check_known(given, [f.name for f in fields], prefix)
        hints = typing.get_type_hints(schema)
        values: dict[str, Any] = {}
        for f in fields:
            if f.name in given:
                values[f.name] = self.value(prefix + f.name, given[f.name], hints[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise self.missing(prefix + f.name)
        try:
            return schema(**values)
        except (TypeError, ValueError) as exc:  # the schema's own __post_init__ checks
            raise ConfigError(f"plugin {self.plugin!r}: [plugins.{self.plugin}] is refused: {exc}") from exc

    def value(self, key: str, value: Any, hint: Any) -> Any:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is Any or hint is object:
            return value
        if origin in (typing.Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            if len(options) == 1:
                return self.value(key, value, options[0])
            return value
        if origin is typing.Literal:
            if value not in args:
                raise self.refuse(key, value, "one of " + ", ".join(repr(a) for a in args))
            return value
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower() if isinstance(value, str) else ""
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise self.refuse(key, value, "true or false")
        if hint is int or hint is float:
            if isinstance(value, bool):
                raise self.refuse(key, value, "an integer" if hint is int else "a number")
            if isinstance(value, str):
                try:
                    return hint(value.strip())
                except ValueError:
                    raise self.refuse(key, value, "an integer" if hint is int else "a number") from None
            if hint is int and isinstance(value, int):
                return value
            if hint is float and isinstance(value, (int, float)):
                return float(value)
            raise self.refuse(key, value, "an integer" if hint is int else "a number")
        if hint is str:
            if not isinstance(value, str):
                raise self.refuse(key, value, "a string")
            return value
        if hint is Path:
            if not isinstance(value, str):
                raise self.refuse(key, value, "a path")
            return Path(value).expanduser()
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            names = [m.name.lower() for m in hint]
            if isinstance(value, str) and value.lower() in names:
                return hint[value.upper()]
            raise self.refuse(key, value, "one of " + ", ".join(names))
        container = origin or hint
        if container in (list, tuple, dict) or dataclasses.is_dataclass(container):
            value = self.parsed(key, value, container)
        if container in (list, tuple):
            if not isinstance(value, list):
                raise self.refuse(key, value, "a list")
            item = args[0] if args else Any
            items = [self.value(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
            return items if container is list else tuple(items)
        if container is dict:
            if not isinstance(value, dict):
                raise self.refuse(key, value, "a table")
            item = args[1] if len(args) == 2 else Any
            return {str(k): self.value(f"{key}.{k}", v, item) for k, v in value.items()}
        if isinstance(container, type) and dataclasses.is_dataclass(container):
            if not isinstance(value, dict):
                raise self.refuse(key, value, "a table")
            return self.dataclass(container, value, f"{key}.")
        return value

    def parsed(self, key: str, value: Any, container: Any) -> Any:
        """Lists and tables given as text (environment variables) are JSON."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            kind = "a list" if container in (list, tuple) else "a table"
            raise self.refuse(key, value, f"{kind} in JSON ({exc})") from None

    def pydantic(self, schema: type[T]) -> T:
        from pydantic import ValidationError

        model_fields = schema.model_fields  # type: ignore[attr-defined]
        known = [*model_fields, *(f.alias for f in model_fields.values() if f.alias)]
        given = dict(self.table.values)
        if not set(given) <= set(known):  # pydantic would ignore them: a misspelt key must not pass
            self.check_known({k: v for k, v in given.items() if k not in known}, list(model_fields), "")
        for key, value in given.items():
            from_environment = self.table.where(key).startswith("environment")
            if from_environment and isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
                given[key] = self.parsed(key, value, dict)
        try:
            return schema.model_validate(given)  # type: ignore[attr-defined, no-any-return]
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(part) for part in first["loc"]) or "?"
            top = str(first["loc"][0]) if first["loc"] else ""
            if first["type"] == "missing":
                raise self.missing(key) from None
            raise ConfigError(f"plugin {self.plugin!r}: invalid value {first.get('input')!r} for {key!r} "
                              f"({self.where(top)}): {first['msg']}") from None
