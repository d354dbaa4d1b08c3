"""protos/gen/descriptors.py (for reflection and the OpenAPI document) matches the .proto sources."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_descriptor_set_is_current() -> None:
    script = ROOT / "scripts" / "genprotos.py"
    spec = importlib.util.spec_from_file_location("genprotos_for_descriptors", script)
    assert spec and spec.loader
    genprotos = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = genprotos
    spec.loader.exec_module(genprotos)
    expected = genprotos.descriptors_module(genprotos.descriptor_set())
    assert (ROOT / "protos" / "gen" / "descriptors.py").read_text() == expected, (
        "protos/gen/descriptors.py is stale; run: python scripts/genprotos.py")
