"""Real servers on loopback for the transport's tests, each on its own event loop thread: a forward
proxy (CONNECT tunnels and absolute-form HTTP), an HTTPS upstream whose certificate comes from a
CA made for the test (HTTP/2 when the client offers it), and an upstream that holds requests
until released (pool limits)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.harness import _LoopThread

__all__ = ["CA", "HoldingUpstream", "Proxy", "TLSUpstream", "make_ca"]


@dataclass(frozen=True)
class CA:
    ca_file: Path  # the CA's certificate (PEM): what a client must trust
    cert_file: Path  # the server's chain, issued by the CA for 127.0.0.1 and localhost
    key_file: Path


def make_ca(tmp: Path) -> CA:
    """A CA of the test's own and a server certificate it issued."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "banjia test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca = CA(tmp / "ca.pem", tmp / "server.pem", tmp / "server.key")
    ca.ca_file.write_bytes(ca_cert.public_bytes(pem))
    ca.cert_file.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    ca.key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    return ca


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(head, body) of one HTTP/1.1 request with a Content-Length body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


class _Server(_LoopThread):
    """A server on its own loop thread whose connections end with it: :meth:`stop` cancels them."""

    def __init__(self, name: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(name)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.stopped = False
        self.server: asyncio.Server = self.call(
            asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=ssl_context))
        self.port: int = self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _shutdown(self) -> None:
        self.server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.call(self._shutdown())
            self.stop_loop()


class Proxy(_Server):
    """A forward proxy: ``CONNECT host:port`` opens a tunnel, an absolute-form request
    (``POST http://host:port/path``) is passed on to its origin. ``seen`` lists the first request
    line's method and target of each connection made through it."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        super().__init__("test-proxy")
        self.url = f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        self.seen.append(f"{method} {target}")
        try:
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                url = urlsplit(target)
                up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
                origin_form = (url.path or "/") + (f"?{url.query}" if url.query else "")
                up_writer.write(head.replace(target.encode(), origin_form.encode(), 1))
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            writer.close()
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


def _answer(version: str, body: bytes) -> tuple[str, bytes]:
    """What the TLS upstream answers, as an OpenAI-dialect upstream would: a chat completion whose
    text is the HTTP version it was spoken to in (``HTTP/2``), whole or, when the request asks
    for a stream, as chunks and ``[DONE]``."""
    req = orjson.loads(body or b"{}")
    said = f"HTTP/{version}"
    base = {"id": "chatcmpl-tls", "created": 1, "model": str(req.get("model", "m"))}
    if req.get("stream"):
        chunks = [
            {**base, "object": "chat.completion.chunk",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": said},
                          "finish_reason": None}]},
            {**base, "object": "chat.completion.chunk",
             "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        return "text/event-stream", b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + (
            b"data: [DONE]\n\n")
    return "application/json", orjson.dumps({
        **base, "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": said}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    })


class TLSUpstream(_Server):
    """An HTTPS upstream on 127.0.0.1 with a certificate from ``ca``; it offers HTTP/2 in ALPN
    when ``http2``. ``versions`` lists the HTTP version of each request it answered."""

    def __init__(self, ca: CA, *, http2: bool = True) -> None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(ca.cert_file, ca.key_file)
        ctx.set_alpn_protocols(["h2", "http/1.1"] if http2 else ["http/1.1"])
        self.versions: list[str] = []
        super().__init__("tls-upstream", ssl_context=ctx)
        self.url = f"https://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tls = writer.get_extra_info("ssl_object")
        try:
            if tls is not None and tls.selected_alpn_protocol() == "h2":
                await self._h2(reader, writer)
            else:
                await self._http11(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass

    async def _http11(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            _, body = await _read_request(reader)
            self.versions.append("1.1")
            ctype, payload = _answer("1.1", body)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s"
                         % (ctype.encode(), len(payload), payload))
            await writer.drain()

    async def _h2(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False,
                                                                    header_encoding="utf-8"))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        bodies: dict[int, bytearray] = {}
        while data := await reader.read(65536):
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived) and ev.stream_id is not None:
                    bodies[ev.stream_id] = bytearray()
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id is not None:
                    bodies[ev.stream_id] += ev.data or b""
                    conn.acknowledge_received_data(ev.flow_controlled_length or 0, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id is not None:
                    self.versions.append("2")
                    ctype, payload = _answer("2", bytes(bodies.pop(ev.stream_id)))
                    conn.send_headers(ev.stream_id, [(":status", "200"), ("content-type", ctype),
                                                     ("content-length", str(len(payload)))])
                    conn.send_data(ev.stream_id, payload, end_stream=True)
            writer.write(conn.data_to_send())
            await writer.drain()



class HoldingUpstream(_Server):
    """An HTTP/1.1 upstream that holds every request until :meth:`release` lets one go; it counts
    the requests it holds at once (``peak``) and the ones it answered (``answered``)."""

    def __init__(self) -> None:
        self.held = 0
        self.peak = 0
        self.answered = 0
        self._changed = threading.Condition()
        super().__init__("holding-upstream")
        self._gate: asyncio.Semaphore = self.call(self._semaphore())
        self.url = f"http://127.0.0.1:{self.port}"

    @staticmethod
    async def _semaphore() -> asyncio.Semaphore:
        return asyncio.Semaphore(0)

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self._gate.release)

    def wait_for(self, held: int, answered: int, timeout: float = 10) -> None:
        """Block until the upstream holds ``held`` requests and has answered ``answered``."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.held >= held and self.answered >= answered, timeout):
                raise AssertionError(f"held {self.held}, answered {self.answered}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await _read_request(reader)
                with self._changed:
                    self.held += 1
                    self.peak = max(self.peak, self.held)
                    self._changed.notify_all()
                await self._gate.acquire()
                with self._changed:
                    self.held -= 1
                    self.answered += 1
                    self._changed.notify_all()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: 2\r\n\r\n{}")
                await writer.drain()

