"""The messages and service stubs of the ``wingspan.v1`` IDL package.

Generated code lives under ``gen/`` (rewritten by ``scripts/genprotos.py``);
this module gives it a short import path: ``from wingspan.protos import v1``.
"""

from wingspan.protos.gen.wingspan.v1 import *  # noqa: F403
