"""fetch_url against local servers on 127.0.0.1 only: SSRF refusals (directly, via DNS and via
redirects), DNS pinning, size and type caps, status and timeout mapping, HTTPS with SNI."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from minirag.documents.fetch import FetchedResource, classify_address, fetch_url
from minirag.errors import PermanentIngestError, UpstreamUnavailable

PAGE = b"<html><head><title>Hello</title></head><body><p>Hi there</p></body></html>"
BIG = b"x" * 5000


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", content_type: str | None = None, **headers: str) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.hits.append((self.path, self.headers.get("Host")))  # type: ignore[attr-defined]
        path, _, query = self.path.partition("?")
        params = urllib.parse.parse_qs(query)
        if path == "/page.html":
            self._send(200, PAGE, "text/html; charset=utf-8")
        elif path == "/echo-host":
            self._send(200, (self.headers.get("Host") or "").encode(), "text/plain")
        elif path == "/redirect":
            self._send(302, b"", Location=params["to"][0])
        elif path == "/loop":
            self._send(301, b"", Location="/loop")
        elif path == "/missing":
            self._send(404, b"nope", "text/plain")
        elif path == "/unavailable":
            self._send(503, b"later", "text/plain")
        elif path == "/busy":
            self._send(429, b"slow down", "text/plain")
        elif path == "/image.png":
            self._send(200, b"\x89PNG\r\n", "image/png")
        elif path == "/big.txt":
            self._send(200, BIG, "text/plain")
        elif path == "/stream.txt":
            # No Content-Length: the cap must apply while streaming.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"y" * 1000)
            self.close_connection = True
        elif path == "/slow":
            time.sleep(1.0)
            self._send(200, b"late", "text/plain")
        elif path == "/download":
            self._send(200, b"# Notes\n\nbody", "application/octet-stream",
                       Content_Disposition='attachment; filename="notes.md"')
        elif path == "/blob":
            self._send(200, b"\x00\x01", "application/octet-stream")
        else:
            self._send(404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[tuple[str, str | None]] = []
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.port = self.server_address[1]
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-body (the size-cap tests) are expected

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.stop()


@pytest.fixture()
def base(server: _Server) -> str:
    server.hits.clear()
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture()
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection attempt (httpcore's sync backend uses socket.create_connection)."""
    seen: list[tuple[str, int]] = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return seen


@pytest.fixture()
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str] | Exception]:
    """Names mapped here resolve to the given addresses; all other names hit the real resolver
    (only IP literals and localhost are looked up in these tests)."""
    table: dict[str, list[str] | Exception] = {}
    calls: list[str] = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(host)
        if host in table:
            answer = table[host]
            if isinstance(answer, Exception):
                raise answer
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answer
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    table["__calls__"] = calls  # type: ignore[assignment]
    return table


def fetch(url: str, **kwargs: object) -> FetchedResource:
    options: dict[str, object] = {"max_bytes": 10_000, "timeout": 5.0, "allow_private": True}
    options.update(kwargs)
    return fetch_url(url, **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- address policy


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("8.8.8.8", "public"),
        ("93.184.216.34", "public"),
        ("2606:4700:4700::1111", "public"),
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.170.2", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.0.8", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:a00:1::", "private"),
        ("not-an-ip", "invalid"),
    ],
)
def test_classify_address(address: str, expected: str) -> None:
    assert classify_address(address) == expected


@pytest.mark.parametrize("address", ["192.0.2.1", "198.18.0.1", "2001:db8::1", "0.1.2.3", "::10.0.0.1"])
def test_documentation_and_special_ranges_are_not_public(address: str) -> None:
    assert classify_address(address) != "public"


# --------------------------------------------------------------------------- refusals


def test_default_refuses_loopback_without_connecting(base: str, server: _Server, connections: list) -> None:
    with pytest.raises(PermanentIngestError, match="non-public address \\(loopback\\)"):
        fetch_url(f"{base}/page.html", max_bytes=10_000, timeout=5)
    assert server.hits == [] and connections == []


@pytest.mark.parametrize("host", ["localhost", "[::1]"])
def test_default_refuses_loopback_names(server: _Server, host: str, connections: list) -> None:
    with pytest.raises(PermanentIngestError, match="non-public"):
        fetch_url(f"http://{host}:{server.port}/page.html", max_bytes=10_000, timeout=5)
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file.txt",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://user:secret@example.com/",
        "http://user@example.com/",
        "not a url",
        "http:///nohost",
    ],
)
def test_refuses_bad_schemes_userinfo_and_garbage(url: str, connections: list) -> None:
    with pytest.raises(PermanentIngestError):
        fetch_url(url, max_bytes=1000, timeout=1)
    assert connections == []


def test_refuses_metadata_hostname_even_with_allow_private(connections: list) -> None:
    with pytest.raises(PermanentIngestError, match="metadata"):
        fetch("http://metadata.google.internal/computeMetadata/v1/")
    assert connections == []


def test_hostname_resolving_to_private_address_is_refused(fake_dns: dict, connections: list) -> None:
    fake_dns["intranet.example"] = ["192.168.1.5"]
    with pytest.raises(PermanentIngestError, match="intranet.example.*private"):
        fetch_url("https://intranet.example/wiki", max_bytes=1000, timeout=2)
    assert connections == []


def test_any_private_address_among_several_refuses(fake_dns: dict, connections: list) -> None:
    fake_dns["mixed.example"] = ["93.184.216.34", "10.0.0.7"]
    with pytest.raises(PermanentIngestError, match="private"):
        fetch_url("http://mixed.example/", max_bytes=1000, timeout=2)
    assert connections == []


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/admin",
        "http://[::ffff:10.0.0.1]/",
        "http://[fd00:ec2::254]/",
        "http://100.64.1.1/",
        "http://internal.example/",
    ],
)
def test_redirect_to_forbidden_target_is_refused_without_connecting(
    base: str, server: _Server, target: str, fake_dns: dict, connections: list
) -> None:
    fake_dns["internal.example"] = ["10.9.8.7"]
    url = f"{base}/redirect?to={urllib.parse.quote(target, safe='')}"
    with pytest.raises(PermanentIngestError, match="non-public|metadata"):
        fetch(url)  # allow_private only lets the first hop reach 127.0.0.1
    assert [path for path, _ in server.hits] == [f"/redirect?to={urllib.parse.quote(target, safe='')}"]
    assert all(addr[0] == "127.0.0.1" for addr in connections)


def test_redirect_to_other_scheme_is_refused(base: str) -> None:
    with pytest.raises(PermanentIngestError, match="only http and https"):
        fetch(f"{base}/redirect?to=file:///etc/passwd")


# --------------------------------------------------------------------------- pinning


def test_host_is_resolved_once_and_connection_pinned(server: _Server, fake_dns: dict, connections: list) -> None:
    fake_dns["docs.example"] = ["127.0.0.1"]
    result = fetch(f"http://docs.example:{server.port}/echo-host")
    assert result.data == f"docs.example:{server.port}".encode()  # Host header keeps the name
    assert fake_dns["__calls__"].count("docs.example") == 1  # no second lookup to rebind
    assert [addr[0] for addr in connections] == ["127.0.0.1"]


def test_rebinding_after_the_check_cannot_redirect_the_connection(
    server: _Server, monkeypatch: pytest.MonkeyPatch, connections: list
) -> None:
    """First answer loopback (allowed here), later answers the metadata IP: only the vetted
    address is ever connected to."""
    answers = iter(["127.0.0.1", "169.254.169.254", "169.254.169.254"])
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    fetch(f"http://rebind.example:{server.port}/page.html")
    assert [addr[0] for addr in connections] == ["127.0.0.1"]


# --------------------------------------------------------------------------- success paths


def test_fetch_html(base: str) -> None:
    result = fetch(f"{base}/page.html")
    assert result.data == PAGE
    assert result.content_type == "text/html; charset=utf-8"
    assert result.filename == "page.html"
    assert result.url_final == f"{base}/page.html"


def test_relative_redirect_is_followed(base: str, server: _Server) -> None:
    result = fetch(f"{base}/redirect?to=/page.html")
    assert result.data == PAGE and result.url_final == f"{base}/page.html"
    assert [p for p, _ in server.hits] == ["/redirect?to=/page.html", "/page.html"]


def test_octet_stream_allowed_by_content_disposition_filename(base: str) -> None:
    result = fetch(f"{base}/download")
    assert result.filename == "notes.md" and result.data.startswith(b"# Notes")


# --------------------------------------------------------------------------- caps and statuses


def test_too_many_redirects(base: str) -> None:
    with pytest.raises(PermanentIngestError, match="redirects more than 2"):
        fetch(f"{base}/loop", max_redirects=2)


def test_declared_size_over_cap(base: str) -> None:
    with pytest.raises(PermanentIngestError, match="larger than 1000 bytes"):
        fetch(f"{base}/big.txt", max_bytes=1000)


def test_streamed_size_over_cap(base: str) -> None:
    with pytest.raises(PermanentIngestError, match="larger than 20000 bytes"):
        fetch(f"{base}/stream.txt", max_bytes=20_000)


def test_body_at_cap_is_accepted(base: str) -> None:
    assert len(fetch(f"{base}/big.txt", max_bytes=len(BIG)).data) == len(BIG)


@pytest.mark.parametrize("path", ["/image.png", "/blob"])
def test_content_type_refused(base: str, path: str) -> None:
    with pytest.raises(PermanentIngestError, match="content type"):
        fetch(f"{base}{path}")


def test_content_type_allow_list_is_respected(base: str) -> None:
    with pytest.raises(PermanentIngestError, match="text/html"):
        fetch(f"{base}/page.html", allowed_content_types=("application/pdf",))


def test_404_is_permanent(base: str) -> None:
    with pytest.raises(PermanentIngestError, match="HTTP 404"):
        fetch(f"{base}/missing")


@pytest.mark.parametrize("path", ["/unavailable", "/busy"])
def test_5xx_and_429_are_retryable(base: str, path: str) -> None:
    with pytest.raises(UpstreamUnavailable):
        fetch(f"{base}{path}")


def test_timeout_is_retryable(base: str) -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        fetch(f"{base}/slow", timeout=0.3)
    assert time.monotonic() - started < 1.0


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(UpstreamUnavailable):
        fetch(f"http://127.0.0.1:{port}/")


def test_dns_failures(fake_dns: dict) -> None:
    fake_dns["gone.example"] = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    fake_dns["flaky.example"] = socket.gaierror(socket.EAI_AGAIN, "Temporary failure")
    with pytest.raises(PermanentIngestError, match="does not exist"):
        fetch("http://gone.example/")
    with pytest.raises(UpstreamUnavailable):
        fetch("http://flaky.example/")


# --------------------------------------------------------------------------- https


def _self_signed(hostname: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_Server, bytes, list[str]]]:
    pytest.importorskip("cryptography")
    cert_pem, key_pem = _self_signed("secure.example")
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server_names: list[str] = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)  # type: ignore[assignment,misc]
    srv = _Server(tls=context)
    yield srv, cert_pem, server_names
    srv.stop()


def test_https_pins_ip_but_keeps_sni_and_certificate_name(tls_server, fake_dns: dict) -> None:
    srv, cert_pem, server_names = tls_server
    fake_dns["secure.example"] = ["127.0.0.1"]
    trust = ssl.create_default_context(cadata=cert_pem.decode())
    result = fetch(f"https://secure.example:{srv.port}/echo-host", ssl_context=trust)
    assert result.data == f"secure.example:{srv.port}".encode()
    assert server_names[-1] == "secure.example"


def test_https_untrusted_certificate_is_permanent(tls_server, fake_dns: dict) -> None:
    srv, _, _ = tls_server
    fake_dns["secure.example"] = ["127.0.0.1"]
    with pytest.raises(PermanentIngestError, match="certificate"):
        fetch(f"https://secure.example:{srv.port}/page.html")
