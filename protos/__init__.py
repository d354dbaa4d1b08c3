"""Wingspan's IDL: the .proto sources and the betterproto2 code generated from them.

Import the messages from :mod:`wingspan.protos.v1`; the generated package under
``gen/`` is rewritten by ``scripts/genprotos`` and never edited by hand.
"""
