"""Scenario 6: the same 100 MB DataFrame read by 20 tracked runs: bytes on disk vs one copy,
and MLflow logging it as an artifact 20 times."""

from __future__ import annotations

import pickle

from common import MIB, Measure, disk_usage, run_cell


def run(opts, results, ip, home) -> None:
    import numpy as np
    import pandas as pd

    scenario = "6-dedup"
    runs = 3 if opts.quick else 20
    rows = (10 if opts.quick else 100) * MIB // (8 * 10)
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(rows, 10)), columns=list("abcdefghij"))
    one_copy = len(pickle.dumps(frame, protocol=5))
    print(f"\n[{scenario}] a {one_copy / MIB:.0f} MiB DataFrame read by {runs} tracked runs")
    ip.user_ns["frame"] = frame
    before = disk_usage(home)
    times = [run_cell(ip, f"%%track dedup\nrow_count = len(frame) + {i}\nmean_a = float(frame['a'].mean())")
             for i in range(runs)]
    grown = disk_usage(home) - before
    results.add(Measure(scenario, "tracked cell reading the frame: first run", "nbmodels", times[:1]))
    results.add(Measure(scenario, "tracked cell reading the frame: later runs", "nbmodels", times[1:]))
    nb = results.add(Measure(scenario, f"registry growth after {runs} runs (objects + db)", "nbmodels",
                             [grown], unit="bytes", note=f"one copy = {one_copy / MIB:.1f} MiB"))
    results.target(scenario, f"registry growth / one copy ({runs} runs)", nb.median / one_copy, 1.05, "max", "x")
    ip.user_ns.pop("frame")
    if opts.mlflow:
        from common import mlflow_setup

        mlflow, _client = mlflow_setup(opts.workdir / "mlflow-dedup", "dedup")
        path = opts.workdir / "frame.pkl"
        path.write_bytes(pickle.dumps(frame, protocol=5))
        store = opts.workdir / "mlflow-dedup"
        before = disk_usage(store)
        for i in range(runs):
            with mlflow.start_run():
                mlflow.log_param("i", i)
                mlflow.log_artifact(str(path))
        grown = disk_usage(store) - before
        results.add(Measure(scenario, f"store growth after {runs} runs (log_artifact each)",
                            "mlflow-default", [grown], unit="bytes",
                            note=f"{grown / one_copy:.1f}x one copy"))
    del frame
