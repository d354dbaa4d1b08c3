"""A tiny OIDC issuer for tests: a real HTTP server on loopback serving a discovery document and a
JWKS of keys made by joserfc, and signing tokens with them. It counts the JWKS reads, and its
keys can be rotated while it runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

AUDIENCE = "wingspan"
#: where the issuer lives on its server, as Keycloak's realms do
PREFIX = "/realms/test"


class TinyIssuer:
    def __init__(self) -> None:
        self.keys: list[ECKey | RSAKey] = [ECKey.generate_key("P-256", parameters={"kid": "first"})]
        self.jwks_reads = 0
        self.url = ""  # set once serving

    def rotate(self, kid: str) -> ECKey | RSAKey:
        """A new signing key, published beside the old ones; tokens are signed with it from now on."""
        key = RSAKey.generate_key(2048, parameters={"kid": kid})
        self.keys.insert(0, key)
        return key

    def token(self, *, key: ECKey | RSAKey | None = None, lifetime: int = 300, not_before: int = 0,
              header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A token signed by ``key`` (default: the newest published one) with sensible claims."""
        key = key or self.keys[0]
        now = int(time.time())
        body = {"iss": self.url, "aud": AUDIENCE, "sub": "ada", "iat": now, "exp": now + lifetime,
                "groups": ["ml-team"], **({"nbf": now + not_before} if not_before else {}), **claims}
        alg = "ES256" if isinstance(key, ECKey) else "RS256"
        return jwt.encode({"alg": alg, "kid": key.kid, **(header or {})}, body, key)

    def _documents(self) -> dict[str, Any]:
        return {
            f"{PREFIX}/.well-known/openid-configuration": {
                "issuer": self.url, "jwks_uri": f"{self.url}/keys",
                "token_endpoint": f"{self.url}/token", "id_token_signing_alg_values_supported": ["ES256"]},
            f"{PREFIX}/keys": KeySet(list(self.keys)).as_dict(private=False),
        }

    @contextmanager
    def serving(self) -> Iterator[TinyIssuer]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                document = issuer._documents().get(self.path)
                if self.path == f"{PREFIX}/keys":
                    issuer.jwks_reads += 1
                body = json.dumps(document).encode()
                self.send_response(200 if document is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
        thread = threading.Thread(target=server.serve_forever, name="tiny-issuer", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
