"""The plugin's settings: ``RayConfig``, the schema of its ``[plugins.ray]`` table
(``WINGSPAN_PLUGINS__RAY__<FIELD>`` in the environment)."""

from __future__ import annotations

import dataclasses

__all__ = ["RayConfig"]


@dataclasses.dataclass(frozen=True)
class RayConfig:
    """Where Ray tasks run, and how local Ray clusters are started."""

    # a running head's Jobs API address (http://host:8265) for every Ray task that names none:
    # each attempt is a Ray job there (empty: local clusters)
    address: str = ""

    # a folder for the local clusters' session files (empty: Ray's default, /tmp/ray); Ray's
    # socket paths must stay short, so keep it near the root
    temp_dir: str = ""
