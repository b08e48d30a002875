"""Scenario 8: export and push the large forest (~61 MiB pickled) vs MLflow's own
`log_model` + `register_model` of the same object to the same `mlflow server`.

nbmodels writes the MLflow model folder from its records (the stored pickle copied,
hash-verified; requirements from the run's packages: no inference subprocess), then uploads
it through MLflow's client as a run, a logged model and a registered version. MLflow's own
path serializes the model again and, by default, infers requirements in a subprocess that
loads it. `mlflow.sklearn.save_model` with the requirements and signature given (no
inference) is measured beside `Registry.export`, which is what decided how export writes.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone

from common import Measure, fastest_kwargs, fresh_copy, interleave, large_forest

METRICS = dict(accuracy=0.91, f1=0.90, precision=0.89, recall=0.92, roc_auc=0.95)


def run(opts, results) -> None:
    from nbmodels import Registry
    from nbmodels.registry import CellRecord

    scenario = "8-interop"
    print(f"\n[{scenario}] export / push the large forest vs MLflow log_model + register_model")
    forest, X, y = large_forest(opts.quick)
    registry = Registry(opts.workdir / "interop-registry")
    counter = itertools.count(1)

    def record(model, nonce: int):
        now = datetime.now(timezone.utc)
        registry.record_run(CellRecord(
            source="forest = RandomForestClassifier(n_estimators=100).fit(X, y)",
            experiment="bench-interop", status="ok", started_at=now, ended_at=now,
            values={"forest": model, "X": X, "y": y, **METRICS}))
        return registry.register(model, "bench-forest", note=f"round {nonce}")

    base = record(forest, 0)
    size = registry.objects.path(base.object_hash).stat().st_size

    def export():
        folder = opts.workdir / f"export-{next(counter)}"
        start = time.perf_counter()
        registry.export(base.ref, folder)
        return time.perf_counter() - start

    cases = {"export": export}
    server = None
    if opts.mlflow:
        import mlflow
        import mlflow.sklearn
        from mlflow.models import ModelSignature
        from mlflow.types import Schema, TensorSpec

        import numpy as np

        server, uri = _start_server(opts.workdir / "mlflow-server")
        previous = mlflow.get_tracking_uri()
        signature = ModelSignature(Schema([TensorSpec(np.dtype("float64"), (-1, X.shape[1]))]))
        pinned = fastest_kwargs()["pip_requirements"]

        def save_model():
            folder = opts.workdir / f"save-{next(counter)}"
            start = time.perf_counter()
            mlflow.sklearn.save_model(forest, str(folder), serialization_format="pickle",
                                      pip_requirements=pinned, signature=signature,
                                      input_example=X[:5])
            return time.perf_counter() - start

        def push():
            version = record(fresh_copy(forest, next(counter)), 0)  # not counted
            start = time.perf_counter()
            registry.push_to_mlflow(version.ref, uri)
            return time.perf_counter() - start

        def push_again():
            start = time.perf_counter()
            registry.push_to_mlflow(base.ref, uri)
            return time.perf_counter() - start

        def mlflow_case(config):
            def case():
                model = fresh_copy(forest, next(counter))
                kwargs = fastest_kwargs() if config == "fastest" else {
                    "skops_trusted_types": ["sklearn.tree._tree.Tree"]}
                mlflow.set_tracking_uri(uri)
                try:
                    start = time.perf_counter()
                    with mlflow.start_run():
                        mlflow.log_params(model.get_params())
                        mlflow.log_metrics(METRICS)
                        info = mlflow.sklearn.log_model(model, name="model", **kwargs)
                        mlflow.register_model(info.model_uri, f"mlflow-forest-{config}")
                    return time.perf_counter() - start
                finally:
                    mlflow.set_tracking_uri(previous)
            return case

        registry.push_to_mlflow(base.ref, uri)  # the version push_again finds
        cases.update(save_model=save_model, push=push, push_again=push_again,
                     mlflow_fastest=mlflow_case("fastest"), mlflow_default=mlflow_case("default"))
    try:
        samples = interleave(cases, opts.repeat)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    note = f"RandomForest, pickle {size / 2**20:.1f} MiB"
    nb_export = results.add(Measure(scenario, "Registry.export(REF, DIR) (MLflow model folder)",
                                    "nbmodels", samples["export"], note=note))
    if not opts.mlflow:
        return
    saved = results.add(Measure(scenario, "mlflow.sklearn.save_model (pickle, requirements "
                                          "and signature given: no inference)",
                                "mlflow-fastest", samples["save_model"]))
    pushed = results.add(Measure(scenario, "Registry.push_to_mlflow(REF, server): run + params + "
                                           "metrics + cell + logged model + registered version "
                                           "+ alias", "nbmodels", samples["push"], note=note))
    results.add(Measure(scenario, "Registry.push_to_mlflow again (finds it, creates nothing)",
                        "nbmodels", samples["push_again"]))
    fast = results.add(Measure(scenario, "run+params+metrics+log_model+register_model (server)",
                               "mlflow-fastest", samples["mlflow_fastest"]))
    default = results.add(Measure(scenario, "run+params+metrics+log_model+register_model (server)",
                                  "mlflow-default", samples["mlflow_default"],
                                  note="skops_trusted_types=[Tree] (needed)"))
    results.target(scenario, "MLflow save_model / nbmodels export", saved.median / nb_export.median,
                   1.0, "min", "x")
    results.target(scenario, "MLflow fastest log+register / nbmodels push",
                   fast.median / pushed.median, 1.0, "min", "x")
    results.target(scenario, "MLflow default log+register / nbmodels push",
                   default.median / pushed.median, 1.0, "min", "x")


def _start_server(folder):
    """An `mlflow server` on a free port with a SQLite store: (process, uri)."""
    import socket

    folder.mkdir(parents=True, exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--artifacts-destination", str(folder / "artifacts")],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2):
                return process, uri
        except OSError:
            time.sleep(0.5)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError("mlflow server did not start")
