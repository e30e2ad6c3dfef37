"""The HTTP layer's limits (issue 17, item 3), against a real server on loopback with raw sockets:
body sizes (413), header size and count (431), header and body timeouts, idle keep-alive, the
per-address connection limit; every refusal in OpenAI's envelope with ``x-request-id``; and a
server that keeps answering others while a slow-client attack runs."""

from __future__ import annotations

import json
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from banjia.server.limits import raise_fd_limit
from tests.fakes.openai_fake import FakeOpenAI
from tests.harness import MASTER_KEY
from tests.server.conftest import AUTH, Served, closed_by_server, connect, read_response, served_config

MAX_BODY = 64 * 1024  # max_body_mb 0.0625
MAX_UPLOAD = 32 * 1024  # max_upload_mb 0.03125
MAX_HEAD = 8 * 1024
PER_IP = 100


@pytest.fixture(scope="module")
def served(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    raise_fd_limit()
    s = Served(
        served_config(
            fake,
            tmp_path_factory.mktemp("limits"),
            max_body_mb=MAX_BODY / 2**20,
            max_upload_mb=MAX_UPLOAD / 2**20,
            max_header_kb=MAX_HEAD // 1024,
            max_headers=50,
            header_timeout=0.5,
            body_timeout=0.5,
            keepalive_timeout=0.5,
            max_connections_per_ip=PER_IP,
        )
    )
    yield s
    s.stop()


def envelope(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict[str, str]:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"].startswith("req_")
    err: dict[str, str] = json.loads(body)["error"]
    assert set(err) == {"message", "type", "param", "code"}
    return err


def post_head(path: str, length: int, content_type: str = "application/json", extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\n{AUTH}Content-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


# -- bodies ------------------------------------------------------------------------------------


def test_content_length_over_max_body_is_413_before_the_body_is_sent(served: Served) -> None:
    with connect(served.port) as s:
        s.sendall(post_head("/v1/chat/completions", 500 * 2**20))  # 500 MB announced, none sent
        err = envelope(*read_response(s), 413)
        assert closed_by_server(s)  # the body it announced is waited for body_timeout at most
    assert err["code"] == "request_too_large"
    assert "max_body_mb" in err["message"]


def test_client_that_sends_its_whole_body_first_reads_the_413_and_keeps_its_connection(
    served: Served,
) -> None:
    with httpx.Client(base_url=served.root, headers={"Authorization": f"Bearer {MASTER_KEY}"}) as c:
        r = c.post("/v1/chat/completions", content=b"x" * (2 * MAX_BODY))
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "request_too_large"
        assert r.headers["x-request-id"]
        assert c.get("/healthz").status_code == 200


def test_an_oversized_anthropic_request_gets_the_413_in_anthropics_envelope(served: Served) -> None:
    with httpx.Client(base_url=served.root, headers={"x-api-key": MASTER_KEY}) as c:
        r = c.post("/v1/messages", content=b"x" * (2 * MAX_BODY))
    assert r.status_code == 413, r.text
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "request_too_large"
    assert "max_body_mb" in r.json()["error"]["message"] and r.headers["x-request-id"]


def test_body_just_under_max_body_reaches_the_app(served: Served) -> None:
    text = "word " * ((MAX_BODY - 200) // 5)
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": text}]})
    assert len(body) < MAX_BODY
    r = httpx.post(
        served.root + "/v1/chat/completions", content=body, headers={"Authorization": f"Bearer {MASTER_KEY}"}
    )
    assert r.status_code == 200, r.text


def test_multipart_upload_is_limited_by_max_upload_mb(served: Served) -> None:
    size = (MAX_UPLOAD + MAX_BODY) // 2  # over the upload limit, under the JSON body limit
    with connect(served.port) as s:
        s.sendall(post_head("/v1/audio/transcriptions", size, "multipart/form-data; boundary=x"))
        err = envelope(*read_response(s), 413)
    assert "max_upload_mb" in err["message"]
    with connect(served.port) as s:  # the same size as JSON is let through to the app
        s.sendall(post_head("/v1/chat/completions", size) + b"{" * size)
        status, _, _ = read_response(s)
    assert status == 400


def send_huge_chunk(s: socket.socket, head: str) -> None:
    """``head`` (a POST's request line and headers), then one chunk announced as 2 GB, sent until
    the server stops taking it (it answers once the body passes MAX_BODY)."""
    s.sendall(f"{head}Transfer-Encoding: chunked\r\n\r\n7fffffff\r\n".encode())
    sent = 0
    try:
        while sent <= 4 * MAX_BODY:  # bounded
            s.sendall(b"x" * 16384)
            sent += 16384
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_chunked_body_with_a_huge_chunk_size_is_413_once_it_passes_the_limit(served: Served) -> None:
    with connect(served.port) as s:
        send_huge_chunk(s, f"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n{AUTH}"
                           "Content-Type: application/json\r\n")
        err = envelope(*read_response(s), 413)
        assert closed_by_server(s)
    assert "max_body_mb" in err["message"]


def test_a_chunked_anthropic_body_cut_for_size_gets_the_413_in_anthropics_envelope(
    served: Served,
) -> None:
    with connect(served.port) as s:
        send_huge_chunk(s, f"POST /v1/messages HTTP/1.1\r\nHost: t\r\nx-api-key: {MASTER_KEY}\r\n"
                           "Content-Type: application/json\r\n")
        status, headers, body = read_response(s)
        assert headers["x-request-id"]
    assert status == 413
    doc = json.loads(body)
    assert doc["type"] == "error" and doc["error"]["type"] == "request_too_large"
    assert "max_body_mb" in doc["error"]["message"]


def test_chunked_body_with_a_huge_chunk_size_that_stops_is_closed(served: Served) -> None:
    with connect(served.port) as s:
        s.sendall(
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\n"
            "ffffffffff\r\nabc".encode()
        )
        assert closed_by_server(s)


def test_stalled_body_is_closed(served: Served) -> None:
    with connect(served.port) as s:
        s.sendall(post_head("/v1/chat/completions", 1000) + b'{"model": ')
        assert closed_by_server(s)


def closed_while_trickling(s: socket.socket, piece: Callable[[int], bytes]) -> bool:
    """Send ``piece(i)`` every 20 ms, for 8 s at most: whether the server closed the connection
    although bytes kept coming."""
    for i in range(400):
        try:
            s.sendall(piece(i))
        except (BrokenPipeError, ConnectionResetError):
            return True
        time.sleep(0.02)
    s.settimeout(2)
    return closed_by_server(s)


def test_trickled_body_is_closed(served: Served) -> None:
    with connect(served.port) as s:
        s.sendall(post_head("/v1/chat/completions", 60000))
        assert closed_while_trickling(s, lambda _: b" ")


# -- headers -----------------------------------------------------------------------------------


def test_header_larger_than_max_header_kb_is_431_without_waiting_for_its_end(served: Served) -> None:
    with connect(served.port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (2 * MAX_HEAD))
        err = envelope(*read_response(s), 431)
        assert "max_header_kb" in err["message"]
        assert closed_by_server(s)


def test_more_headers_than_max_headers_is_431(served: Served) -> None:
    many = "".join(f"X-H{i}: v\r\n" for i in range(60))
    with connect(served.port) as s:
        s.sendall(f"GET /healthz HTTP/1.1\r\nHost: t\r\n{many}\r\n".encode())
        err = envelope(*read_response(s), 431)
    assert "max_headers" in err["message"]


def test_malformed_http_is_400_in_openai_envelope(served: Served) -> None:
    with connect(served.port) as s:
        s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        err = envelope(*read_response(s), 400)
    assert err["code"] == "invalid_http"


# -- timeouts ----------------------------------------------------------------------------------


def test_connection_that_sends_nothing_is_closed(served: Served) -> None:
    with connect(served.port) as s:
        assert closed_by_server(s)


def test_slowloris_partial_headers_are_closed_although_bytes_keep_coming(served: Served) -> None:
    with connect(served.port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        assert closed_while_trickling(s, lambda i: f"X-{i}: v\r\n".encode())


def test_idle_keep_alive_connection_is_closed(served: Served) -> None:
    with connect(served.port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert read_response(s)[0] == 200
        assert closed_by_server(s)


# -- connections -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def few_per_ip(fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = Served(
        served_config(fake, tmp_path_factory.mktemp("per-ip"), max_connections_per_ip=8, header_timeout=60)
    )
    yield s
    s.stop()


def healthz(s: socket.socket) -> int:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    return read_response(s)[0]


def test_connections_over_the_per_ip_limit_are_closed_before_any_request(few_per_ip: Served) -> None:
    held = [connect(few_per_ip.port) for _ in range(8)]
    try:
        assert all(healthz(s) == 200 for s in held)
        with connect(few_per_ip.port) as extra:
            assert closed_by_server(extra)
        with connect(few_per_ip.port, source="127.0.0.2") as other_address:
            assert healthz(other_address) == 200
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:  # the server sees the close a moment later
            with connect(few_per_ip.port) as again:
                try:
                    if healthz(again) == 200:
                        break
                except (ConnectionError, OSError):
                    pass
            assert time.monotonic() < deadline, "a freed slot was never given again"
    finally:
        for s in held:
            s.close()


def test_raise_fd_limit_lifts_the_soft_limit_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard != resource.RLIM_INFINITY and hard > 256, "this test needs a finite hard limit"
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        assert raise_fd_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 256), hard))


# -- an attack and a bystander -----------------------------------------------------------------


def test_slowloris_attack_does_not_stop_a_concurrent_prober(served: Served) -> None:
    """400 sockets from one address that send headers a line at a time, re-opened as they are
    closed, for 4 s; meanwhile a client from another address checks /healthz every 50 ms."""
    stop = threading.Event()
    opened = [0]

    def attack() -> None:
        socks: list[socket.socket] = []
        ends = time.monotonic() + 4
        while time.monotonic() < ends and not stop.is_set():
            while len(socks) < 400:
                try:
                    s = connect(served.port, timeout=1)
                    s.sendall(b"GET /healthz HTTP/1.1\r\n")
                    socks.append(s)
                    opened[0] += 1
                except OSError:
                    break
            alive = []
            for s in socks:
                try:
                    s.sendall(b"X-a: b\r\n")
                    alive.append(s)
                except OSError:
                    s.close()
            socks = alive
            time.sleep(0.1)
        for s in socks:
            s.close()

    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    answers = []
    try:
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=5) as prober:
            while attacker.is_alive() and len(answers) < 200:
                answers.append(prober.get(served.root + "/healthz").status_code)
                time.sleep(0.05)
    finally:
        stop.set()
        attacker.join(10)
    assert opened[0] >= 400
    assert len(answers) >= 10
    assert set(answers) == {200}
