"""``radarcore serve`` in a child process, for tests, benchmarks and tools.

:func:`serve_process` starts the console script's code (``python -m radarcore.cli serve``) on a
free loopback port, waits until every worker answers ``/healthz``, yields the base URL and
stops the server when the block ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["free_port", "serve_process"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def serve_process(
    database_url: str,
    *,
    log: Path,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    **flags: str,
) -> Iterator[str]:
    """Run ``radarcore serve --database-url database_url --workers workers`` with its output in
    ``log`` and yield its base URL once all ``workers`` processes answer ``/healthz``.

    ``flags`` are more options (``model="m.rcm"`` is ``--model m.rcm``); ``env`` is added to
    this process's environment (``RADARCORE_LOG_LEVEL`` is ``WARNING`` unless given). A server
    that exits or does not answer within ``timeout`` seconds is a ``RuntimeError`` quoting the
    end of ``log``."""
    port = free_port()
    command = [sys.executable, "-m", "radarcore.cli", "serve", "--port", str(port)]
    command += ["--database-url", database_url, "--workers", str(workers)]
    for name, value in flags.items():
        command += [f"--{name.replace('_', '-')}", value]
    environment = {**os.environ, "RADARCORE_LOG_LEVEL": "WARNING", **(env or {})}
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
        try:
            _wait_for_workers(url, process, log, workers, timeout)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_workers(
    url: str, process: subprocess.Popen[bytes], log: Path, workers: int, timeout: float
) -> None:
    """Until ``workers`` distinct processes have answered ``/healthz`` (each request is a new
    connection, so any worker may take it)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers:
        if process.poll() is not None:
            raise RuntimeError(
                f"radarcore serve exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"radarcore serve: only workers {sorted(seen)} of {workers} answered within "
                f"{timeout:g} s:\n{log.read_text()[-3000:]}"
            )
        try:
            response = httpx.get(url + "/healthz", timeout=2)
            if response.status_code == 200:
                seen.add(int(response.json()["pid"]))
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
