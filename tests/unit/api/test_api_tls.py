"""TLS on both ports: clients that trust the server's CA connect, others are refused, a rotated
certificate is served to new connections without a restart, and a key others may read is refused."""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.unit.api.certificates import TestCa
from tests.unit.api.served import wingspan_serve
from wingspan._remote.client import AsyncRemote, RemoteError
from wingspan._remote.data import ProxyDownloads
from wingspan._remote.endpoint import Endpoint
from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.server.serve import ApiServer
from wingspan.server.tls import CertificateFiles

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


class Pki:
    def __init__(self, folder: Path) -> None:
        self.ca = TestCa(folder, "first")
        self.cert, self.key = folder / "server.pem", folder / "server.key"
        self.issued = self.ca.issue(self.cert, self.key)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@pytest.fixture
async def server(tmp_path: Path, pki: Pki) -> AsyncIterator[ApiServer]:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0,
                        tls_cert=str(pki.cert), tls_key=str(pki.key))
    async with ApiServer(settings, grace=2, engine=False) as running:
        yield running


def _trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


async def _served(port: int, alpn: str) -> tuple[x509.Certificate, str | None]:
    """The certificate a new connection to ``port`` is served (unchecked), and the protocol agreed."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols([alpn])
    _reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=context), 10)
    try:
        tls = writer.get_extra_info("ssl_object")
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)), tls.selected_alpn_protocol()
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_client_trusting_the_ca_connects_on_both_ports(server: ApiServer, pki: Pki) -> None:
    assert server.http_url.startswith("https://127.0.0.1:")
    remote = AsyncRemote(server.grpc_address, ca=str(pki.ca.path))
    try:
        assert [p["name"] for p in await remote.list_projects()] == ["default"]
        # the server reports its HTTPS address to clients (the data proxy's signed URLs use it)
        assert remote.http_address == server.http_url
    finally:
        await remote.aclose()
    async with httpx.AsyncClient(verify=_trusting(pki.ca.path)) as http:
        assert (await http.get(f"{server.http_url}/healthz")).status_code == 200
    # each port offers its own protocol
    assert (await _served(server.grpc_port, "h2"))[1] == "h2"
    assert (await _served(server.http_port, "http/1.1"))[1] == "http/1.1"


async def test_a_client_not_trusting_the_ca_is_refused_on_both_ports(server: ApiServer,
                                                                     tmp_path: Path) -> None:
    other = TestCa(tmp_path / "other", "other")
    system_store_only = AsyncRemote(f"https://{server.grpc_address}")
    for remote in (system_store_only, AsyncRemote(server.grpc_address, ca=str(other.path))):
        try:
            with pytest.raises(RemoteError, match=r"TLS handshake with 127.0.0.1:.* failed "
                                                  r".*CERTIFICATE_VERIFY_FAILED.*--ca or WINGSPAN_CA"):
                await remote.list_projects()
        finally:
            await remote.aclose()
    for verify in (True, _trusting(other.path)):
        async with httpx.AsyncClient(verify=verify) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(f"{server.http_url}/healthz")
    # nor does plain text reach it
    plain = AsyncRemote(f"http://{server.grpc_address}")
    try:
        with pytest.raises(RemoteError):
            await asyncio.wait_for(plain.list_projects(), 20)
    finally:
        await plain.aclose()


async def test_a_rotated_certificate_is_served_to_new_connections(server: ApiServer, pki: Pki,
                                                                  tmp_path: Path) -> None:
    assert (await _served(server.grpc_port, "h2"))[0] == pki.issued
    assert (await _served(server.http_port, "http/1.1"))[0] == pki.issued
    old_client = AsyncRemote(server.grpc_address, ca=str(pki.ca.path))
    await old_client.list_projects()  # its connection is open before the rotation

    successor = TestCa(tmp_path / "successor", "successor")
    rotated = successor.issue(pki.cert, pki.key)

    assert (await _served(server.grpc_port, "h2"))[0] == rotated
    assert (await _served(server.http_port, "http/1.1"))[0] == rotated
    new_client = AsyncRemote(server.grpc_address, ca=str(successor.path))
    try:
        assert await new_client.list_projects()
        async with httpx.AsyncClient(verify=_trusting(successor.path)) as http:
            assert (await http.get(f"{server.http_url}/healthz")).status_code == 200
        # a connection opened before keeps working with the certificate it was given
        assert await old_client.list_projects()
    finally:
        await new_client.aclose()
        await old_client.aclose()
    # and a client trusting only the old CA is refused from now on
    stale = AsyncRemote(server.grpc_address, ca=str(pki.ca.path))
    try:
        with pytest.raises(RemoteError, match="CERTIFICATE_VERIFY_FAILED"):
            await stale.list_projects()
    finally:
        await stale.aclose()


async def test_a_half_done_rotation_keeps_the_working_pair_and_says_so(
        server: ApiServer, pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "wingspan.server.tls")
    # a new key lands before its certificate: the pair does not match
    TestCa(tmp_path / "next", "next").issue(tmp_path / "next" / "cert.pem", pki.key)
    for _ in range(3):
        assert (await _served(server.grpc_port, "h2"))[0] == pki.issued
    refusals = [r for r in caplog.records if "still serving the previous TLS certificate" in r.getMessage()]
    assert len(refusals) == 1, "reported once, not at every connection"
    assert "cannot load the TLS certificate" in refusals[0].getMessage()
    # once the certificate follows, it is served
    os.replace(tmp_path / "next" / "cert.pem", pki.cert)
    assert (await _served(server.grpc_port, "h2"))[0] != pki.issued
    assert (await _served(server.http_port, "http/1.1"))[0] != pki.issued


async def test_a_rotated_key_others_may_read_is_not_served(server: ApiServer, pki: Pki,
                                                           tmp_path: Path) -> None:
    TestCa(tmp_path / "next", "next").issue(pki.cert, pki.key)
    pki.key.chmod(0o644)
    assert (await _served(server.grpc_port, "h2"))[0] == pki.issued


def test_a_key_others_may_read_is_refused_at_the_start(pki: Pki, tmp_path: Path) -> None:
    pki.key.chmod(0o604)
    done = subprocess.run(
        [sys.executable, "-m", "wingspan.cli", "serve", "--http-port", "0", "--grpc-port", "0",
         "--tls-cert", str(pki.cert), "--tls-key", str(pki.key)],
        env={**os.environ, "WINGSPAN_HOME": str(tmp_path / "home")}, capture_output=True, text=True,
        timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert f"refusing the TLS key file {pki.key}" in done.stderr
    assert "-rw----r--" in done.stderr and f"chmod 600 {pki.key}" in done.stderr
    assert not (tmp_path / "home" / "db").exists(), "refused before anything was opened"


def test_an_encrypted_key_is_refused_rather_than_asked_for(pki: Pki) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pki.key.read_bytes(), password=None)
    pki.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.BestAvailableEncryption(b"secret")))
    with pytest.raises(ConfigError, match="is encrypted; the server cannot ask for its password"):
        CertificateFiles(pki.cert, pki.key)


async def test_stored_data_comes_down_over_https(server: ApiServer, pki: Pki, tmp_path: Path) -> None:
    """Outputs are read through the data proxy's signed HTTPS URLs, checked against the same CA."""
    uri = server.admin.store.uri_for_key("outputs/tls-test.bin")
    await server.admin.store.put(uri, b"over TLS")
    trusting = ProxyDownloads(Endpoint.parse(server.grpc_address, ca=str(pki.ca.path)))
    assert await trusting.get(uri) == b"over TLS"
    assert await trusting.download_file(uri, tmp_path / "copy.bin") == len(b"over TLS")
    other = TestCa(tmp_path / "other", "other")
    with pytest.raises(RemoteError, match="CERTIFICATE_VERIFY_FAILED"):
        await ProxyDownloads(Endpoint.parse(server.grpc_address, ca=str(other.path))).get(uri)


def test_a_certificate_ending_soon_is_reported_when_loaded(pki: Pki,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "wingspan.server.tls")
    CertificateFiles(pki.cert, pki.key)
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "serving the TLS certificate" in caplog.records[0].getMessage()
    caplog.clear()
    pki.ca.issue(pki.cert, pki.key, valid=datetime.timedelta(days=3))
    CertificateFiles(pki.cert, pki.key)
    [soon] = caplog.records
    assert soon.levelname == "WARNING" and "in 2 days: renew it" in soon.getMessage()
    caplog.clear()
    pki.ca.issue(pki.cert, pki.key, valid=datetime.timedelta(minutes=-1))
    CertificateFiles(pki.cert, pki.key)
    [past] = caplog.records
    assert past.levelname == "ERROR" and "expired at" in past.getMessage()


def test_half_a_tls_configuration_is_refused(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tls_cert is set but tls_key is not"):
        CertificateFiles.from_settings(Settings(home=tmp_path, tls_cert=str(pki.cert)))
    with pytest.raises(ConfigError, match="tls_key is set but tls_cert is not"):
        CertificateFiles.from_settings(Settings(home=tmp_path, tls_key=str(pki.key)))
    with pytest.raises(ConfigError, match=r"cannot load the TLS certificate .* the certificate's own"):
        CertificateFiles(pki.ca.path, pki.key)  # the CA's certificate, not the key's


async def test_wingspan_serve_with_tls_and_the_cli_trusting_its_ca(pki: Pki, tmp_path: Path) -> None:
    """The whole path through `wingspan serve`: the CLI registers code (the bundle goes up through
    the data proxy's HTTPS URL) with --ca, and is refused, with what to do, without it."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "tls_chain.py").write_bytes((EXAMPLES / "chain.py").read_bytes())
    env = {"WINGSPAN_HOME": str(tmp_path / "home")}
    async with wingspan_serve("--tls-cert", str(pki.cert), "--tls-key", str(pki.key), env=env) as (
            _, http_url, grpc_host, grpc_port):
        assert http_url.startswith("https://")
        endpoint = f"{grpc_host}:{grpc_port}"

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "wingspan.cli", *args, "--endpoint", endpoint],
                                  env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
                                  check=False)

        # on loopback a bare host:port is plain text, which a TLS server drops: the error says what to do
        plain = await asyncio.to_thread(cli, "get", "projects")
        assert plain.returncode == 1 and f"if it serves TLS, name it https://{endpoint}" in plain.stderr
        endpoint = f"https://{endpoint}"
        refused = await asyncio.to_thread(cli, "get", "projects")
        assert refused.returncode == 1
        assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr and "--ca or WINGSPAN_CA" in refused.stderr
        registered = await asyncio.to_thread(cli, "register", str(project), "--ca", str(pki.ca.path))
        assert registered.returncode == 0, registered.stderr + registered.stdout
        listed = await asyncio.to_thread(cli, "get", "tasks", "--ca", str(pki.ca.path), "-o", "json")
        assert listed.returncode == 0 and "tls_chain.add" in listed.stdout
