"""flowno_core.io.http_logging: socket and HTTP events in one log, secrets kept out."""

from __future__ import annotations

import logging

from flowno_core.io import Headers, HttpClient, HttpServer, sse_response
from flowno_core.io.http_logging import (
    HttpLoggingInstrument,
    configure_file_logger,
    get_current_http_logger,
    get_http_logging_instrument,
)


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_http_logging_instrument_logs_a_streamed_request():
    server = HttpServer("127.0.0.1", 0)

    @server.route("/sse")
    async def sse(request):
        async def gen():
            yield {"a": 1}
            yield {"b": 2}
        return sse_response(gen(), done=True)

    logger = logging.getLogger("test.io.http_traffic")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = ListHandler()
    logger.addHandler(handler)
    try:
        async with server:
            assert get_current_http_logger() is None
            with HttpLoggingInstrument(logger) as instrument:
                assert get_current_http_logger() is instrument
                client = HttpClient(Headers({"Authorization": "Bearer sk-very-secret"}))
                response = await client.stream_get(server.url + "/sse?api_key=hidden")
                assert [value async for value in response.body] == [{"a": 1}, {"b": 2}]
            assert get_current_http_logger() is None
    finally:
        logger.removeHandler(handler)
    text = "\n".join(handler.lines)
    for event in ["CONNECT", "SEND", "REQUEST", "RECV", "HEADERS", "CHUNK", "SSE", "END", "CLOSE"]:
        assert f"] {event} " in text, event
    assert "status=200" in text and "done=True" in text
    assert "sk-very-secret" not in text and "hidden" not in text
    assert len({line.split("]")[0] for line in handler.lines}) == 1  # one connection id


def test_file_logger_from_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWNO_HTTP_LOG", raising=False)
    assert get_http_logging_instrument() is None
    path = tmp_path / "http.log"
    monkeypatch.setenv("FLOWNO_HTTP_LOG", str(path))
    instrument = get_http_logging_instrument()
    assert isinstance(instrument, HttpLoggingInstrument)
    logger = configure_file_logger(str(path))
    try:
        instrument._log("conn-0001", "TEST", ok=True)
        for handler in logger.handlers:
            handler.flush()
        assert "[conn-0001] TEST ok=True" in path.read_text()
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
