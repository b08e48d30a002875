"""A real `mlflow server` for the interop tests (one per module), and small trained models."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

SERVER_START_S = 180  # a cold `mlflow server` on a busy 2-core machine takes ~20 s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """The URI of an `mlflow server` on 127.0.0.1 with a SQLite store and an artifact
    folder in a temporary folder; stopped (by its process group id) after the module."""
    pytest.importorskip("mlflow")
    folder = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--artifacts-destination", str(folder / "artifacts")],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(uri, process, folder)
        yield uri
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _wait_until_up(uri: str, process, folder) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {(folder / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"mlflow server did not answer in {SERVER_START_S} s")


@pytest.fixture(scope="session")
def frame_data():
    """Five breast-cancer columns as a DataFrame, and the target."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    return data.data.iloc[:, :5], data.target


def tracked(registry, model, X, y, source="model = Model().fit(X, y)", **values):
    """Record a run that fitted `model` on X, y (as %%track would) and return the model."""
    from ..helpers import record_fit

    return record_fit(registry, model, source, X=X, y=y, **values)
