"""A local HTTP server for the download tests: serves files from a folder, no other network."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class FileServer:
    """Files put in `folder` are served at `base_url`; `requests` logs every GET path.

    `/truncate/<file>` sends the full Content-Length of <file> but only half of its
    bytes, then closes the connection. `/flaky/<file>` does that on the first request
    for a file and serves it whole afterwards.
    """

    folder: Path
    base_url: str = ""
    requests: list[str] = field(default_factory=list)


class _Handler(SimpleHTTPRequestHandler):
    server_state: FileServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        state = self.server_state
        state.requests.append(self.path)
        for prefix in ("/truncate/", "/flaky/"):
            if self.path.startswith(prefix):
                name = self.path[len(prefix):]
                first = sum(p == self.path for p in state.requests) == 1
                if prefix == "/truncate/" or first:
                    self._send_truncated(state.folder / name)
                else:
                    self.path = "/" + name
                    super().do_GET()
                return
        super().do_GET()

    def _send_truncated(self, path: Path) -> None:
        payload = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    folder = tmp_path / "served"
    folder.mkdir()
    state = FileServer(folder=folder)
    handler = type("Handler", (_Handler,), {"server_state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: any connection attempt is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
