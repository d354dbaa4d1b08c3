"""The messages and service stubs of the ``wingspan.v1`` IDL package.

Generated code lives under ``gen/`` (rewritten by ``scripts/genprotos.py``);
this module gives it a short import path: ``from wingspan.protos import v1``.
mypy reads the generated classes (their fields are annotated), so a message's fields
are typed wherever it is used; only the errors inside the generated code are ignored.
"""

from wingspan.protos import type_hints as _type_hints
from wingspan.protos.gen.wingspan.v1 import *  # noqa: F403

_type_hints.cache_type_hints()
