"""Whether an image is in its registry, asked over the registry HTTP API (v2, as Docker's
distribution, the OCI distribution spec and every hosted registry serve it): a HEAD of the
tag's manifest, with an anonymous bearer token when the registry asks for one."""

from __future__ import annotations

import re

import httpx

from wingspan.core.errors import UserError
from wingspan.core.loopback import is_loopback

__all__ = ["image_exists", "split_reference"]

_ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"])


def split_reference(reference: str) -> tuple[str, str, str]:
    """(registry host, repository, tag) of ``host[:port]/path/name:tag``; Docker Hub's for a
    name without a host."""
    rest, _, tag = reference.rpartition(":")
    if not rest or "/" in tag:
        raise UserError(f"image {reference!r} has no tag: give it as host/name:tag")
    first, sep, path = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, path, tag
    return "registry-1.docker.io", rest if "/" in rest else f"library/{rest}", tag


def image_exists(reference: str, *, timeout: float = 30) -> bool:
    """Whether ``reference`` is in its registry. UserError when the registry cannot be asked
    (unreachable, or it wants credentials), naming the registry."""
    host, repository, tag = split_reference(reference)
    scheme = "http" if is_loopback(host.rsplit(":", 1)[0]) else "https"
    url = f"{scheme}://{host}/v2/{repository}/manifests/{tag}"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            response = client.head(url, headers={"Accept": _ACCEPT})
            if response.status_code == 401:
                token = _anonymous_token(client, response.headers.get("www-authenticate", ""))
                if token:
                    response = client.head(url, headers={"Accept": _ACCEPT,
                                                         "Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise UserError(f"cannot ask registry {host} whether image {reference} exists: "
                        f"{type(exc).__name__}: {exc}") from exc
    if response.status_code == 200:
        return True
    if response.status_code == 404:
        return False
    raise UserError(f"registry {host} answered {response.status_code} when asked for image "
                    f"{reference}; check the registry name, or that it lets you read it")


def _anonymous_token(client: httpx.Client, challenge: str) -> str:
    """A pull token from the realm a ``Bearer`` challenge names (empty if it names none)."""
    if not challenge.lower().startswith("bearer "):
        return ""
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = fields.pop("realm", "")
    if not realm:
        return ""
    answer = client.get(realm, params=fields)
    if answer.status_code != 200:
        return ""
    body = answer.json()
    return str(body.get("token") or body.get("access_token") or "")
