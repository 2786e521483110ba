"""Issue 13, items 2 and 10: slow clients, descriptor exhaustion, pathological queries, bodies and configs.

One daemon subprocess under ``prlimit --nofile=256:256`` (frequency 1). 400 connections that send
half a request head and stop would, without bounds, hold 400 descriptors of 256; the daemon must
stay alive, keep syncing, answer a normal client once the slow ones are cut off, and answer bad
queries and bodies with JSON 400s instead of plain-text 500s.
"""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hardening_helpers import CLI, DaemonProcess, daemon_config

from openchoreo_sync.mockapi import MockOpenChoreo, WorldSpec
from openchoreo_sync.testing.polling import poll

SLOW_CLIENTS = 400
HEADER_TIMEOUT = 2


@pytest.fixture(scope="module", params=[0, 2], ids=["in-process", "read-processes"])
def daemon(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[DaemonProcess]:
    """The daemon serving on its own process, then with its public port owned by reader processes
    (which inherit its descriptor limit and must hold the same bounds)."""
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit (util-linux) is needed to lower the daemon's open-files limit")
    workdir = tmp_path_factory.mktemp("bounded")
    with MockOpenChoreo(WorldSpec(seed=2, namespaces=1, projects=1, components=2, example=False)) as mock:
        config = daemon_config(
            mock.url,
            workdir,
            {
                "openchoreo": {
                    "server": {
                        "headerTimeout": HEADER_TIMEOUT,
                        "bodyTimeout": HEADER_TIMEOUT,
                        "readProcesses": request.param,
                    }
                }
            },
        )
        process = DaemonProcess(config, workdir / "daemon", prefix=("prlimit", "--nofile=256:256"))
        process.start()
        process.wait_for_run(after=0)
        try:
            yield process
        finally:
            process.stop()


def _half_open(url: str) -> socket.socket | None:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.settimeout(5)
    try:
        sock.connect((host, int(port)))
        sock.sendall(b"GET /api/catalog/entities HTTP/1.1\r\nHost: x\r\n")  # ...and never the blank line
    except OSError:
        sock.close()
        return None
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 503")


def test_slow_clients_cannot_exhaust_descriptors(daemon: DaemonProcess) -> None:
    runs_before = len(daemon.finished_runs())
    started = time.monotonic()
    sockets = [s for s in (_half_open(daemon.url) for _ in range(SLOW_CLIENTS)) if s is not None]
    try:
        assert len(sockets) > 256, "the flood must be larger than the descriptor limit to mean anything"
        poll(
            lambda: all(_closed_by_server(s) for s in sockets),
            timeout=HEADER_TIMEOUT * 10,
            what="every slow client to be cut off",
        )
        cut_after = time.monotonic() - started
        print(f"\n{len(sockets)} half-open connections against nofile=256: all closed after {cut_after:.1f} s")
        assert daemon.alive()
        response = daemon.get("/api/catalog/entities", limit="1")
        assert response is not None and response.status_code == 200, response and response.text
        # the scheduler still creates its HTTP client and syncs: descriptors were never exhausted
        poll(lambda: len(daemon.finished_runs()) > runs_before + 1, timeout=30, what="runs to continue")
        assert daemon.count("crashed") == 0, daemon.log_text()[-3000:]
    finally:
        for sock in sockets:
            sock.close()


def test_a_stalled_body_gets_408_and_frees_the_connection(daemon: DaemonProcess) -> None:
    host, port = daemon.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=HEADER_TIMEOUT * 5) as conn:
        conn.sendall(
            b"POST /api/catalog/entities/by-refs HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            b"content-length: 100\r\n\r\n{"
        )
        answer = b""
        while b"}}" not in answer and (chunk := conn.recv(4096)):  # head and body may come apart
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"RequestTimeoutError" in answer


def test_pathological_queries_and_bodies_are_json_400s(daemon: DaemonProcess) -> None:
    many = [("filter", f"metadata.name=n{i}") for i in range(1000)]
    response = httpx.get(daemon.url + "/api/catalog/entities", params=many, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["name"] == "InputError"

    nested = b'{"entityRefs": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = httpx.post(daemon.url + "/api/catalog/entities/by-refs", content=nested, timeout=30)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")

    huge = b'{"entityRefs": ["' + b"a" * (2 * 1024 * 1024) + b'"]}'
    response = httpx.post(daemon.url + "/api/catalog/entities/by-refs", content=huge, timeout=30)
    assert response.status_code == 413, response.text
    assert daemon.alive()


TCP_INFO_DATA_SEGS_IN = 152
"""Offset of ``tcpi_data_segs_in`` (segments received carrying data) in Linux's ``struct tcp_info``."""


def _data_segments_in(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return int(struct.unpack_from("I", info, TCP_INFO_DATA_SEGS_IN)[0])


def _read_response(sock: socket.socket) -> bytes:
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return answer


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
def test_a_response_leaves_in_one_segment_and_a_closing_one_whole(daemon: DaemonProcess) -> None:
    """Status line, headers and a small body go out in one write: two writes per response cost
    the server two system calls and the client two reads (a third of a reader's CPU per by-name
    request). A response on a connection the server then closes still arrives whole."""
    host, port = daemon.url.removeprefix("http://").split(":")
    request = b"GET /api/catalog/entities?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        for _ in range(5):
            before = _data_segments_in(conn)
            conn.sendall(request)
            answer = _read_response(conn)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            assert _data_segments_in(conn) - before == 1, "head and body arrived as separate segments"
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower(), head
    assert len(body) == int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )


def _billion_laughs() -> str:
    text = 'openchoreo:\n  baseUrl: http://127.0.0.1:1\nlol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for level in range(1, 10):
        text += f"lol{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]\n"
    return text


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("laughs.yaml", _billion_laughs(), "expands to more than"),
        ("deep.yaml", "openchoreo:\n  baseUrl: http://x\nx: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested deeper"),
    ],
)
def test_check_refuses_unbounded_configs_naming_the_file(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    done = subprocess.run([CLI, "check", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr[-2000:])
    assert str(path) in done.stderr and expected in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
