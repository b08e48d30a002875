"""A real S3 API on 127.0.0.1 (moto's server mode, started once for this folder and stopped
by its PID) and a `file://` remote: every scenario runs against both."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """`http://127.0.0.1:PORT` of a moto S3 server in a subprocess of its own."""
    pytest.importorskip("moto")
    pytest.importorskip("obstore")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port),
                               "-H", "127.0.0.1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        os.kill(server.pid, 15)
        server.wait(timeout=10)


@pytest.fixture
def s3_env(moto_endpoint, monkeypatch):
    """The S3 endpoint and dummy credentials, in this test's environment only."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return moto_endpoint


def new_bucket(endpoint: str) -> str:
    bucket = f"team-{uuid.uuid4().hex[:12]}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"))
    return bucket


@pytest.fixture(params=["file", "s3"])
def remote_url(request, tmp_path):
    """A fresh, empty remote: a folder, or a prefix of a new bucket on moto."""
    if request.param == "file":
        return (tmp_path / "remote").as_uri()
    endpoint = request.getfixturevalue("s3_env")
    return f"s3://{new_bucket(endpoint)}/registry"
