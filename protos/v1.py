"""The messages and service stubs of the ``wingspan.v1`` IDL package.

Generated code lives under ``gen/`` (rewritten by ``scripts/genprotos.py``);
this module gives it a short import path: ``from wingspan.protos import v1``.
The generated code is left out of type checking, so to mypy every name here is Any.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:

    def __getattr__(name: str) -> Any: ...

else:
    from wingspan.protos.gen.wingspan.v1 import *  # noqa: F403
