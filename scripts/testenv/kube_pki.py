"""Certificates and keys for the test kube-apiserver, its admin user and the node agent.

One CA signs everything: the apiserver's serving certificate, the admin client
certificate (O=system:masters), the apiserver's client certificate towards kubelets,
and the node agent's kubelet serving certificate. A real cluster keeps separate CAs;
one is enough for a cluster that lives on 127.0.0.1 for a test run.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID_DAYS = 365
_LOCAL_NAMES = ("localhost",)
_LOCAL_IPS = ("127.0.0.1",)
# The first address of --service-cluster-ip-range: clients inside pods reach the API there.
_SERVICE_IP = "10.0.0.1"
_SERVICE_NAMES = (
    "kubernetes", "kubernetes.default", "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class Pki:
    """Paths of every file in the PKI folder."""

    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def ca_cert(self) -> Path:
        return self.path("ca.crt")

    @property
    def complete(self) -> bool:
        return all(self.path(name).exists() for name in _ALL_FILES)


_ALL_FILES = (
    "ca.crt", "ca.key", "apiserver.crt", "apiserver.key", "admin.crt", "admin.key",
    "kubelet-client.crt", "kubelet-client.key", "kubelet.crt", "kubelet.key", "sa.key", "sa.pub",
)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, organisation: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organisation:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    return x509.Name(parts)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
             ) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(public_key)
        .serial_number(x509.random_serial_number())
        # backdated a little so a clock a few seconds apart does not reject a fresh cert
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
    )


def _leaf(pki: Pki, stem: str, subject: x509.Name, ca_key: ec.EllipticCurvePrivateKey,
          ca_cert: x509.Certificate, *, server: bool, client: bool,
          dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()) -> None:
    key = _new_key()
    usages = []
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_encipherment=False, content_commitment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
    )
    if dns or ips:
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    _write_cert(pki.path(f"{stem}.crt"), builder.sign(ca_key, hashes.SHA256()))
    _write_key(pki.path(f"{stem}.key"), key)


def ensure_pki(folder: Path) -> Pki:
    """Creates the PKI once; later runs reuse it so kubeconfigs stay valid."""
    pki = Pki(folder)
    if pki.complete:
        return pki
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = _new_key()
    ca_subject = _name("wingspan-test-ca")
    ca_cert = (
        _builder(ca_subject, ca_subject, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_encipherment=False, content_commitment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_cert(pki.ca_cert, ca_cert)
    _write_key(pki.path("ca.key"), ca_key)

    _leaf(pki, "apiserver", _name("kube-apiserver"), ca_key, ca_cert, server=True, client=False,
          dns=_LOCAL_NAMES + _SERVICE_NAMES, ips=(*_LOCAL_IPS, _SERVICE_IP))
    _leaf(pki, "admin", _name("admin", "system:masters"), ca_key, ca_cert,
          server=False, client=True)
    _leaf(pki, "kubelet-client", _name("kube-apiserver-kubelet-client", "system:masters"),
          ca_key, ca_cert, server=False, client=True)
    _leaf(pki, "kubelet", _name("wingspan-test-kubelet"), ca_key, ca_cert, server=True,
          client=False, dns=_LOCAL_NAMES, ips=_LOCAL_IPS)

    # Service-account tokens are signed with RSA: every Kubernetes version accepts it.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki.path("sa.key"), sa_key)
    pki.path("sa.pub").write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return pki
