"""The one SSE decoder: every framing seen from upstreams."""

from __future__ import annotations

from banjia.sse import SSEDecoder, encode_data, encode_event


def decode(*parts: bytes) -> list[str]:
    d = SSEDecoder()
    out = [e.data for p in parts for e in d.feed(p)]
    return out + [e.data for e in d.flush()]


def test_standard_events() -> None:
    assert decode(b'data: {"a":1}\n\ndata: [DONE]\n\n') == ['{"a":1}', "[DONE]"]


def test_no_space_after_colon_as_dashscope_sends() -> None:
    raw = b'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"x":1}\n\n'
    d = SSEDecoder()
    (ev,) = d.feed(raw)
    assert (ev.id, ev.event, ev.data) == ("1", "result", '{"x":1}')


def test_keepalive_comments_are_skipped() -> None:
    assert decode(b": keep-alive\n\n: keep-alive\n\ndata: x\n\n") == ["x"]


def test_crlf_and_cr_split_across_reads() -> None:
    assert decode(b"data: a\r", b"\n\r\ndata: b\r\r") == ["a", "b"]


def test_events_split_at_any_byte() -> None:
    raw = b'data: {"k": "\xe4\xbd\xa0\xe5\xa5\xbd"}\n\ndata: [DONE]\n\n'
    for cut in range(1, len(raw)):
        assert decode(raw[:cut], raw[cut:]) == ['{"k": "你好"}', "[DONE]"]


def test_multi_line_data_joins_with_newline() -> None:
    assert decode(b"data: a\ndata: b\n\n") == ["a\nb"]


def test_lines_longer_than_64k() -> None:
    big = b"x" * 200_000
    assert decode(b"data: " + big[:70_000], big[70_000:] + b"\n\n") == [big.decode()]


def test_bare_json_lines_are_data() -> None:
    assert decode(b'{"code": 10013, "message": "x"}') == ['{"code": 10013, "message": "x"}']


def test_last_event_without_blank_line_is_flushed() -> None:
    assert decode(b"data: tail") == ["tail"]


def test_encoders() -> None:
    assert encode_data(b"{}") == b"data: {}\n\n"
    assert encode_event("response.created", b"{}") == b"event: response.created\ndata: {}\n\n"
