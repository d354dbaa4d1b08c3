"""Where clients' uploads live, and the digest their location is named by.

The data proxy hands out upload locations ``uploads/<project>/<domain>/<md5>/<filename>``
below the store root, where ``<md5>`` is the hex MD5 of the content the client said it
will upload. The name is a promise the server keeps by checking it: the local store's
upload route refuses a body with another digest, registration refuses a code bundle
whose bytes do not match, and a worker checks a bundle's bytes again when it fetches
it (on S3 a presigned PUT may overwrite an object after registration: the worker's
check is what stops such a bundle from running).
"""

from __future__ import annotations

import re

__all__ = ["UPLOAD_PREFIX", "named_md5"]

UPLOAD_PREFIX = "uploads"
_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


def named_md5(key_or_uri: str) -> str | None:
    """The MD5 (hex) that an upload location names, or None when it names none (an object
    outside ``uploads/``, or uploaded to a random folder without a digest)."""
    parts = key_or_uri.split("/")
    if len(parts) >= 5 and parts[-5] == UPLOAD_PREFIX and _MD5_HEX.match(parts[-2]):
        return parts[-2]
    return None
