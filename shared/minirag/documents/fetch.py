"""SSRF-safe URL fetching.

A tenant-supplied URL is untrusted: it may point at the cloud metadata service, at a VPC-internal
host, or at a public name that resolves (or later re-resolves: DNS rebinding) to one. So each hop:

1. accepts only http/https without userinfo;
2. resolves the host once and refuses if ANY address is not public;
3. connects to the vetted IP itself (the URL's host is replaced by the IP; the Host header and
   TLS SNI/certificate check keep the original name), so nothing is resolved again;
4. follows redirects by hand, vetting every hop the same way;
5. streams the body and stops past `max_bytes`.

Failures that retrying cannot fix raise `PermanentIngestError`; timeouts, connection errors,
5xx/408/429 raise `UpstreamUnavailable`.
"""

from __future__ import annotations

import ipaddress
import posixpath
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message

import httpx

from minirag.documents.formats import CONTENT_TYPE_KINDS, KIND_CONTENT_TYPES, kind_for_filename, media_type
from minirag.errors import PermanentIngestError, UpstreamUnavailable

__all__ = [
    "DEFAULT_ALLOWED_CONTENT_TYPES",
    "FetchedResource",
    "classify_address",
    "fetch_url",
    "post_pinned",
    "vet_url",
]

DEFAULT_ALLOWED_CONTENT_TYPES: tuple[str, ...] = tuple(CONTENT_TYPE_KINDS)
# Servers that do not know a type send one of these; the URL's extension decides then.
_GENERIC_CONTENT_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", "application/x-download"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRYABLE_4XX = frozenset({408, 425, 429})
_USER_AGENT = "MiniRAG-Fetcher/1.0"
_MAX_CONNECT_ATTEMPTS = 3

# Cloud instance metadata endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6, ECS task metadata,
# Alibaba). Refused whatever `allow_private` says.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_METADATA_HOSTNAMES = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")


@dataclass(frozen=True)
class FetchedResource:
    url_final: str
    content_type: str | None  # the response header as sent (charset included), for extract_batch()
    filename: str | None  # from Content-Disposition, else the last path segment of url_final
    data: bytes


def classify_address(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """'public', or why the address must not be fetched: 'cloud metadata', 'unspecified',
    'loopback', 'link-local', 'multicast', 'carrier-grade NAT', 'private', 'reserved'.

    IPv6 forms that embed an IPv4 address (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4)
    are judged by the embedded address, since that is where the packets end up."""
    if isinstance(address, str):
        try:
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "invalid"
    else:
        ip = address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return classify_address(embedded)
        if ip.teredo is not None:
            return "reserved"
    if ip in _METADATA_ADDRESSES:
        return "cloud metadata"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT"
    if ip.is_reserved or (isinstance(ip, ipaddress.IPv4Address) and ip in _IETF_PROTOCOL):
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return "public"


@dataclass(frozen=True)
class _Target:
    url: httpx.URL
    host: str  # IDNA/ASCII form, no brackets
    port: int
    is_ip: bool


def _parse_target(raw: str) -> _Target:
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise PermanentIngestError("the URL is not valid") from exc
    if url.scheme not in ("http", "https"):
        raise PermanentIngestError("only http and https URLs can be fetched")
    if url.userinfo or "@" in url.netloc.decode("ascii", "replace"):
        raise PermanentIngestError("URLs with a user name or password are not allowed")
    host = url.raw_host.decode("ascii").lower().rstrip(".")
    if not host:
        raise PermanentIngestError("the URL has no host")
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    port = url.port or (443 if url.scheme == "https" else 80)
    return _Target(url=url, host=host, port=port, is_ip=is_ip)


def _refusal(host: str, reason: str) -> PermanentIngestError:
    return PermanentIngestError(
        f"refusing to fetch '{host}': it points to a non-public address ({reason})"
    )


def _vet(target: _Target, allow_private: bool) -> list[str]:
    """Resolve once; every address must be public (or loopback with allow_private). Returns the
    addresses to connect to, in resolver order."""
    if target.host in _METADATA_HOSTNAMES:
        raise PermanentIngestError(f"refusing to fetch '{target.host}': cloud metadata hosts are not allowed")
    if target.is_ip:
        addresses = [target.host]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except UnicodeError as exc:
            raise PermanentIngestError("the URL's host name is not valid") from exc
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_AGAIN,):
                raise UpstreamUnavailable(f"could not resolve '{target.host}' (temporary DNS failure)") from exc
            raise PermanentIngestError(f"the host '{target.host}' does not exist") from exc
        except OSError as exc:
            raise UpstreamUnavailable(f"could not resolve '{target.host}'") from exc
        addresses = []
        for family, _, _, _, sockaddr in infos:
            address = str(sockaddr[0]).split("%", 1)[0]
            if family in (socket.AF_INET, socket.AF_INET6) and address not in addresses:
                addresses.append(address)
        if not addresses:
            raise PermanentIngestError(f"the host '{target.host}' has no IP address")
    for address in addresses:
        reason = classify_address(address)
        if reason == "public" or (allow_private and reason == "loopback"):
            continue
        raise _refusal(target.host, reason)
    return addresses


_SSL_CONTEXT: ssl.SSLContext | None = None


def _default_ssl_context() -> ssl.SSLContext:
    """Built once: loading the CA bundle costs milliseconds on every cold client otherwise."""
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = httpx.create_ssl_context()
    return _SSL_CONTEXT


def _filename(response: httpx.Response, url: httpx.URL) -> str | None:
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        try:
            name = message.get_filename()
        except (ValueError, LookupError):
            name = None
        if name:
            name = posixpath.basename(name.replace("\\", "/")).strip()
            if name not in ("", ".", ".."):
                return name
    name = posixpath.basename(urllib.parse.unquote(url.path))
    return name or None


def _check_content_type(content_type: str | None, filename: str | None, allowed: frozenset[str]) -> None:
    media, _ = media_type(content_type)
    if media in allowed:
        return
    if media is None or media in _GENERIC_CONTENT_TYPES:
        kind = kind_for_filename(filename)
        if kind and any(ct in allowed for ct in KIND_CONTENT_TYPES[kind]):
            return
    raise PermanentIngestError(
        f"the URL returned content type '{media or 'none'}', which cannot be ingested; "
        f"allowed: {', '.join(sorted(allowed))}"
    )


def _remaining(deadline: float, host: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise UpstreamUnavailable(f"timed out fetching '{host}'")
    return left


def _is_cert_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def fetch_url(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool = False,
    allowed_content_types: Iterable[str] = DEFAULT_ALLOWED_CONTENT_TYPES,
    max_redirects: int = 5,
    ssl_context: ssl.SSLContext | None = None,
) -> FetchedResource:
    """Download `url` for ingestion.

    `timeout` bounds the whole fetch (all redirect hops and the body). `allow_private=True`
    additionally permits loopback targets (tests and local development serving from
    127.0.0.1); private networks, link-local and metadata addresses stay refused.
    `ssl_context` replaces the default CA bundle (a private CA, tests).
    """
    allowed = frozenset(ct.strip().lower() for ct in allowed_content_types)
    deadline = time.monotonic() + timeout
    current = url
    for _hop in range(max_redirects + 1):
        target = _parse_target(current)
        addresses = _vet(target, allow_private)
        result = _request(target, addresses, deadline, max_bytes, allowed, ssl_context or _default_ssl_context())
        if isinstance(result, FetchedResource):
            return result
        current = result
    raise PermanentIngestError(f"the URL redirects more than {max_redirects} times")


def _request(
    target: _Target,
    addresses: list[str],
    deadline: float,
    max_bytes: int,
    allowed: frozenset[str],
    ssl_context: ssl.SSLContext,
) -> FetchedResource | str:
    """One hop against the vetted addresses: the fetched resource, or the next URL to follow."""
    headers = {
        "Host": target.url.netloc.decode("ascii"),
        "User-Agent": _USER_AGENT,
        "Accept": ", ".join(sorted(allowed)) + ", */*;q=0.1",
        # Ask for no compression: a small gzip body can inflate far past max_bytes in one read.
        # (A server that compresses anyway is decoded, and the cap applies to decoded bytes.)
        "Accept-Encoding": "identity",
    }
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" and not target.is_ip else {}
    last_error: Exception | None = None
    for address in addresses[:_MAX_CONNECT_ATTEMPTS]:
        pinned = target.url if target.is_ip else target.url.copy_with(host=address)
        timeout = httpx.Timeout(_remaining(deadline, target.host))
        try:
            with httpx.Client(
                trust_env=False,  # no proxy/netrc from the environment: we connect where we vetted
                follow_redirects=False,
                verify=ssl_context,
                timeout=timeout,
            ) as client:
                request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
                response = client.send(request, stream=True)
                try:
                    return _handle_response(response, target, deadline, max_bytes, allowed)
                finally:
                    response.close()
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if _is_cert_error(exc):
                raise PermanentIngestError(
                    f"the TLS certificate of '{target.host}' could not be verified"
                ) from exc
            last_error = exc
            continue
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(f"timed out fetching '{target.host}'") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"the connection to '{target.host}' failed") from exc
        except httpx.InvalidURL as exc:
            raise PermanentIngestError("the URL is not valid") from exc
    if isinstance(last_error, httpx.ConnectTimeout):
        raise UpstreamUnavailable(f"timed out connecting to '{target.host}'") from last_error
    raise UpstreamUnavailable(f"could not connect to '{target.host}'") from last_error


def _handle_response(
    response: httpx.Response, target: _Target, deadline: float, max_bytes: int, allowed: frozenset[str]
) -> FetchedResource | str:
    status = response.status_code
    if status in _REDIRECTS:
        location = response.headers.get("location")
        if not location:
            raise PermanentIngestError(f"the URL returned HTTP {status} without a redirect location")
        return urllib.parse.urljoin(str(target.url), location.strip())
    if status >= 500 or status in _RETRYABLE_4XX:
        raise UpstreamUnavailable(f"the URL returned HTTP {status}; try again later")
    if status >= 400:
        raise PermanentIngestError(f"the URL returned HTTP {status}")
    if status != 200 and status not in (203, 206):
        raise PermanentIngestError(f"the URL returned HTTP {status}, not a document")

    content_type = response.headers.get("content-type")
    filename = _filename(response, target.url)
    _check_content_type(content_type, filename, allowed)
    declared = response.headers.get("content-length")
    if declared and declared.strip().isdigit() and int(declared) > max_bytes:
        raise PermanentIngestError(f"the document is larger than {max_bytes} bytes")

    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > max_bytes:
            raise PermanentIngestError(f"the document is larger than {max_bytes} bytes")
        _remaining(deadline, target.host)
    return FetchedResource(url_final=str(target.url), content_type=content_type, filename=filename, data=bytes(body))


def vet_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse now what `fetch_url` would refuse before connecting (scheme, user info, a host that
    does not exist or points to a non-public address), for a check at source creation. Passing is
    no promise: the fetch vets every hop again, since DNS can change in between."""
    _vet(_parse_target(url), allow_private)


def post_pinned(url: str, body: bytes, headers: dict[str, str], *, timeout: float,
                allow_private: bool = False, ssl_context: ssl.SSLContext | None = None) -> int:
    """POST `body` to `url` through the same guard as `fetch_url` (vetted now, connected to the
    vetted address, so DNS cannot change in between) and return the status code. Redirects are not
    followed (the caller sees the 3xx). Refusals raise `PermanentIngestError`; timeouts and
    connection failures `UpstreamUnavailable`. The response body is not read."""
    target = _parse_target(url)
    addresses = _vet(target, allow_private)
    deadline = time.monotonic() + timeout
    sent = {"Host": target.url.netloc.decode("ascii"), **headers}
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" and not target.is_ip else {}
    last_error: Exception | None = None
    for address in addresses[:_MAX_CONNECT_ATTEMPTS]:
        pinned = target.url if target.is_ip else target.url.copy_with(host=address)
        try:
            with httpx.Client(trust_env=False, follow_redirects=False, verify=ssl_context or _default_ssl_context(),
                              timeout=httpx.Timeout(_remaining(deadline, target.host))) as client:
                request = client.build_request("POST", pinned, headers=sent, content=body, extensions=extensions)
                response = client.send(request, stream=True)
                response.close()
                return response.status_code
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if _is_cert_error(exc):
                raise PermanentIngestError(f"the TLS certificate of '{target.host}' could not be verified") from exc
            last_error = exc
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(f"timed out posting to '{target.host}'") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"the connection to '{target.host}' failed") from exc
    raise UpstreamUnavailable(f"could not connect to '{target.host}'") from last_error
