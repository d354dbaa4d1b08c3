"""The server's own file paths, kept out of what callers read.

Errors raised below the transports name files freely (the blob store's root, the
database file, log folders under ``home``): useful in the server log, but a caller
must not learn where the server keeps its state. Both error translators
(:mod:`.grpc_errors`, :mod:`.http_errors`) pass each message through
:meth:`PrivatePaths.redact`, which writes each known root as a placeholder, so a
message still says what was wrong (``<blob store>/uploads/x is missing``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from wingspan.core.config import Settings

__all__ = ["PrivatePaths"]


class PrivatePaths:
    """Roots (as paths and as ``file://`` URIs) and the placeholder each is shown as."""

    def __init__(self, roots: dict[str, str]) -> None:
        pairs: dict[str, str] = {}
        for root, shown in roots.items():
            path = Path(root).expanduser()
            for form in {str(path), str(path.resolve())}:
                if form != "/":
                    pairs[Path(form).as_uri()] = shown
                    pairs[form] = shown
        # longest first: a root inside another is replaced by its own name
        self._pairs = sorted(pairs.items(), key=lambda pair: -len(pair[0]))

    @classmethod
    def from_settings(cls, settings: Settings) -> PrivatePaths:
        roots = {str(settings.home): "<server home>"}
        if settings.storage_root.startswith("file://"):
            roots[settings.storage_root.removeprefix("file://")] = "<blob store>"
        database = make_url(settings.database_url).database
        if settings.database_url.startswith("sqlite") and database and database != ":memory:":
            roots[str(Path(database).parent)] = "<database folder>"
        return cls(roots)

    def redact(self, text: str) -> str:
        for root, shown in self._pairs:
            if root in text:
                text = text.replace(root, shown)
        return text
