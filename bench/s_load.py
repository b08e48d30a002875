"""Scenario 3: load a registered version, hash verified, vs MLflow and raw pickle/joblib.

nbmodels checks an object's hash before deserializing any of it, so its physical limit is
reading the file, hashing it (on every core) and unpickling it one after the other:
`read + hash + pickle.load`, measured here on the same file.
"""

from __future__ import annotations

import pickle
import time

from common import Measure, interleave, joblib_dump_fsync, joblib_load, pickle_dump_fsync, pickle_load, run_cell


def run(opts, results, ip, home, models: dict) -> None:
    """`models`: {"small": obj, "large": obj}, the objects whose versions scenarios 1-2 made."""
    from nbmodels import Registry

    registry = Registry(home)
    for size, obj in models.items():
        scenario = f"3-load-{size}"
        name = f"bench-{'1-small' if size == 'small' else '2-large'}"
        print(f"\n[{scenario}] load the latest version of {name}")
        ref = f"{name}@{registry.get(name).version}"
        raw_pkl, raw_jl = opts.workdir / f"load-{size}.pkl", opts.workdir / f"load-{size}.joblib"
        pickle_dump_fsync(obj, raw_pkl)
        joblib_dump_fsync(obj, raw_jl)

        def load():
            start = time.perf_counter()
            registry.load(ref)
            return time.perf_counter() - start

        def read_hash_load():
            import blake3

            start = time.perf_counter()
            data = raw_pkl.read_bytes()
            blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest()
            pickle.loads(data)
            return time.perf_counter() - start

        cases = {"load": load,
                 "read_hash_load": read_hash_load,
                 "restore": lambda: run_cell(ip, f"%restore {ref} --as restored"),
                 "pickle": lambda: pickle_load(raw_pkl),
                 "joblib": lambda: joblib_load(raw_jl)}
        if opts.mlflow:
            import mlflow

            client = mlflow.MlflowClient()

            def mlflow_case(config):
                model = f"{name}-{config}"
                version = max(int(v.version) for v in client.search_model_versions(f"name='{model}'"))

                def case():
                    start = time.perf_counter()
                    mlflow.sklearn.load_model(f"models:/{model}/{version}")
                    return time.perf_counter() - start
                return case

            cases["mlflow_fastest"] = mlflow_case("fastest")
            cases["mlflow_default"] = mlflow_case("default")
        samples = interleave(cases, opts.repeat * (3 if size == "small" else 1))
        nb = results.add(Measure(scenario, "Registry.load(NAME@VERSION), hash verified", "nbmodels",
                                 samples["load"]))
        results.add(Measure(scenario, "%restore NAME@VERSION (cell)", "nbmodels", samples["restore"]))
        results.add(Measure(scenario, "pickle.load (no verification)", "baseline", samples["pickle"]))
        limit = results.add(Measure(scenario, "read + BLAKE3 (all cores) + pickle.loads", "baseline",
                                    samples["read_hash_load"], note="hash first, as nbmodels"))
        results.add(Measure(scenario, "joblib.load (no verification)", "baseline", samples["joblib"]))
        if opts.mlflow:
            fast = results.add(Measure(scenario, "mlflow.sklearn.load_model(models:/NAME/V)",
                                       "mlflow-fastest", samples["mlflow_fastest"], note="no verification"))
            default = results.add(Measure(scenario, "mlflow.sklearn.load_model(models:/NAME/V)",
                                          "mlflow-default", samples["mlflow_default"], note="no verification"))
            results.target(scenario, f"{size} MLflow fastest / nbmodels", fast.median / nb.median,
                           1.0, "min", "x")
            del default
        if size == "large":  # a small load is mostly resolving the REF, not the object
            results.target(scenario, "large load / (read + hash + pickle.load)",
                           nb.median / limit.median, 1.15, "max", "x")
    ip.user_ns.pop("restored", None)
    registry.close()
