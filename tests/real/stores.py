"""The object stores the shared blob-store suite runs against, and what they need: settings on
each emulator, and for GCS a token endpoint on loopback.

GCS requests carry OAuth tokens obtained with a service account's key; there is no Google here,
so :class:`TokenEndpoint` plays Google's token endpoint on loopback and checks each request the
way Google documents it (RFC 7523 JWT bearer grant: an RS256 JWT from the account, naming the
endpoint as its audience and the storage scope, signed by the account's key). The key is the
dummy, inactive service account Google publishes with its V4 signing conformance vectors.
fake-gcs-server itself takes any request, with or without a token.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wingspan.core.config import Settings
from wingspan.core.storage import BlobStore

STORE_KINDS = ("s3", "azure", "gcs")
TEST_BUCKET = "wingspan-test"
PART_SIZE = 5 * 1024 * 1024
SERVICE_ACCOUNT = json.loads(
    (Path(__file__).parents[1] / "unit" / "data" / "gcs_v4_vectors.json").read_text())["service_account"]
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"


def settings_for(kind: str, env: dict[str, str], home: Path, tokens: TokenEndpoint | None = None) -> Settings:
    """Settings of an Azure (Azurite) or GCS (fake-gcs-server) store on a fresh prefix."""
    prefix = uuid.uuid4().hex[:12]
    if kind == "azure":
        return Settings(home=home, storage=f"abfs://{TEST_BUCKET}/{prefix}",
                        azure_account=env["WINGSPAN_TEST_AZURE_ACCOUNT"],
                        azure_account_key=env["WINGSPAN_TEST_AZURE_ACCOUNT_KEY"],
                        azure_endpoint=env["WINGSPAN_TEST_AZURE_ENDPOINT"])
    assert kind == "gcs" and tokens is not None
    return Settings(home=home, storage=f"gs://{TEST_BUCKET}/{prefix}",
                    gcs_endpoint=env["WINGSPAN_TEST_GCS_ENDPOINT"],
                    gcs_project=env["WINGSPAN_TEST_GCS_PROJECT"],
                    gcs_credentials_file=str(tokens.credentials_file))


def small_parts(store: BlobStore) -> BlobStore:
    """The store with 5 MiB parts (S3's smallest), so uploads in parts show with small objects."""
    store.part_size = PART_SIZE  # type: ignore[attr-defined]  # every object store has one
    return store


def _unpadded(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclasses.dataclass
class TokenEndpoint:
    """Google's OAuth token endpoint for one service account, on loopback: it checks each JWT
    bearer grant and answers with a fresh access token; ``issued`` counts them, ``refused`` holds
    why it refused any."""

    url: str
    credentials_file: Path
    issued: int = 0
    refused: list[str] = dataclasses.field(default_factory=list)

    def check(self, form: dict[str, list[str]]) -> str:
        """Why the grant is refused (empty when it is good)."""
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return f"grant_type {form.get('grant_type')}"
        head, claims, signature = form.get("assertion", [".."])[0].split(".")
        key = serialization.load_pem_private_key(SERVICE_ACCOUNT["private_key"].encode(), None)
        public = key.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            public.verify(_unpadded(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(),
                          hashes.SHA256())
        except Exception:
            return "bad signature"
        header, body = json.loads(_unpadded(head)), json.loads(_unpadded(claims))
        now = time.time()
        if header != {"alg": "RS256", "typ": "JWT"}:
            return f"header {header}"
        if (body["iss"], body["aud"], body["scope"]) != (SERVICE_ACCOUNT["client_email"], self.url, SCOPE):
            return f"claims {body}"
        if not body["iat"] - 60 <= now < body["exp"] <= body["iat"] + 3600:
            return f"times {body}"
        return ""

    @classmethod
    @contextlib.contextmanager
    def serving(cls, folder: Path) -> Iterator[TokenEndpoint]:
        endpoint: TokenEndpoint

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                reason = endpoint.check(parse_qs(self.rfile.read(length).decode()))
                if reason:
                    endpoint.refused.append(reason)
                    answer: dict[str, Any] = {"error": "invalid_grant", "error_description": reason}
                else:
                    endpoint.issued += 1
                    answer = {"access_token": f"token-{endpoint.issued}", "expires_in": 3599,
                              "token_type": "Bearer"}
                body = json.dumps(answer).encode()
                self.send_response(400 if reason else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        url = f"http://127.0.0.1:{server.server_address[1]}/token"
        credentials = folder / "service-account.json"
        credentials.write_text(json.dumps({**SERVICE_ACCOUNT, "token_uri": url}))
        endpoint = cls(url, credentials)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield endpoint
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
