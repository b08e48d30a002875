"""nbmodels benchmark suite: nbmodels vs MLflow vs the physical limit, in one run.

    python bench/run.py                 # everything (needs `pip install -e .[bench]`)
    python bench/run.py --quick         # small sizes, one repetition, no MLflow (CI)
    python bench/run.py --no-mlflow --repeat 7 --only write,load

Writes bench/results.json (git-ignored) and bench/RESULTS.md (the table for the README).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, MIB, Measure, Options, Results, breast_cancer, git_folder, interleave, large_forest, shell  # noqa: E402

SCENARIOS = ("write", "load", "overhead", "scale", "dedup", "memory", "hash", "remote",
             "reproduce", "lineage", "interop")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, one repetition, no MLflow (what CI runs)")
    parser.add_argument("--no-mlflow", action="store_true", help="measure nbmodels and baselines only")
    parser.add_argument("--repeat", type=int, default=None, help="counted repetitions per case (default 5)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--output", default=str(BENCH_DIR),
                        help="folder for results.json and RESULTS.md (default: bench/)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary registries")
    args = parser.parse_args(argv)
    only = tuple(s for s in args.only.split(",") if s)
    unknown = set(only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}: use {', '.join(SCENARIOS)}")
    opts = Options(quick=args.quick, mlflow=not (args.no_mlflow or args.quick),
                   repeat=args.repeat or (1 if args.quick else 5), only=only)
    if opts.mlflow:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            parser.error("MLflow is not installed: `pip install -e .[bench]`, or pass --no-mlflow")
    results = Results()
    started = time.perf_counter()
    cwd = os.getcwd()
    failed = None
    try:
        run_scenarios(opts, results)
    except Exception:  # noqa: BLE001  what was measured before the failure is still written
        failed = traceback.format_exc()
    finally:
        os.chdir(cwd)
        if not args.keep:
            shutil.rmtree(opts.workdir, ignore_errors=True)
        else:
            print(f"kept {opts.workdir}")
    wall = time.perf_counter() - started
    output = Path(args.output)
    write_outputs(opts, results, wall, output)
    missed = [t for t in results.targets if not t.met]
    print(f"\n{len(results.targets) - len(missed)} of {len(results.targets)} targets met "
          f"in {wall:.0f} s; wrote {output / 'results.json'} and {output / 'RESULTS.md'}")
    if failed:
        print(f"\na scenario failed; the results above are those measured before it:\n{failed}",
              file=sys.stderr)
        return 1
    return 0


def wanted(opts, name: str) -> bool:
    return not opts.only or name in opts.only


def run_scenarios(opts, results) -> None:
    folder = git_folder(opts.workdir / "project")
    os.chdir(folder)  # a notebook's folder in a git work tree, as users have
    home = folder / ".nbmodels"
    if opts.mlflow:
        from common import mlflow_setup

        mlflow_setup(opts.workdir / "mlflow")
    if wanted(opts, "hash"):
        hash_baselines(opts, results)
    ip = shell(home) if any(wanted(opts, s) for s in ("write", "load", "overhead", "dedup")) else None
    models = {}
    if wanted(opts, "write") or wanted(opts, "load"):
        import s_write

        print("\nfitting the large RandomForest ...", flush=True)
        forest, _X, _y = large_forest(opts.quick)
        medium, _X, _y = large_forest(opts.quick, samples=13000)
        data = breast_cancer()
        s_write.run(opts, results, ip, data, forest, medium)
        models = {"small": ip.user_ns["clf"], "large": forest}
    if wanted(opts, "load"):
        import s_load

        s_load.run(opts, results, ip, home, models)
    models.clear()
    if wanted(opts, "overhead"):
        import s_overhead

        s_overhead.run(opts, results, ip, folder)
    if wanted(opts, "dedup"):
        import s_disk

        s_disk.run(opts, results, ip, home)
    if wanted(opts, "scale"):
        import s_scale

        s_scale.run(opts, results)
    if wanted(opts, "memory"):
        import s_memory

        s_memory.run(opts, results)
    if wanted(opts, "interop"):
        import s_interop

        s_interop.run(opts, results)
    if wanted(opts, "remote"):
        import s_remote

        s_remote.run(opts, results)
    if wanted(opts, "reproduce"):
        import s_reproduce

        ip = ip or shell(home)
        s_reproduce.run(opts, results, ip, home)
    if wanted(opts, "lineage"):
        import s_lineage

        s_lineage.run(opts, results, ip or shell(home), home)


def hash_baselines(opts, results) -> None:
    import hashlib

    import blake3
    import numpy as np
    import xxhash

    size = (32 if opts.quick else 256) * MIB
    print(f"\n[0-hash] hash throughput over {size // MIB} MiB in memory")
    data = np.random.default_rng(0).integers(0, 255, size, dtype=np.uint8).tobytes()

    def case(make):
        def run():
            start = time.perf_counter()
            make().update(data)
            return time.perf_counter() - start
        return run

    cases = {"blake3 (1 thread, nbmodels objects)": case(blake3.blake3),
             "blake3 (max_threads=AUTO)": case(lambda: blake3.blake3(max_threads=blake3.blake3.AUTO)),
             "xxh3_128 (nbmodels data fingerprints)": case(xxhash.xxh3_128),
             "sha256": case(hashlib.sha256)}
    samples = interleave(cases, opts.repeat)
    for name, values in samples.items():
        throughput = [size / 1e6 / s for s in values]
        results.add(Measure("0-hash", name, "baseline", throughput, unit="MB/s"))


def machine() -> dict:
    import importlib.metadata as md

    def version(dist):
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return None

    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "platform": platform.platform(), "python": platform.python_version(),
            "cpu": cpu, "cores": os.cpu_count(), "memory": memory,
            "versions": {d: version(d) for d in ("nbmodels", "mlflow", "scikit-learn", "numpy",
                                                 "pandas", "blake3", "sqlite-utils", "ipython")}}


def write_outputs(opts, results, wall: float, output: Path) -> None:
    import report

    info = machine()
    data = {"machine": info, "options": {"quick": opts.quick, "mlflow": opts.mlflow,
                                         "repeat": opts.repeat, "only": list(opts.only)},
            "wall_s": wall, "measures": [m.to_dict() for m in results.measures],
            "targets": [t.to_dict() for t in results.targets]}
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(data, indent=1))
    (output / "RESULTS.md").write_text(report.markdown(data))


if __name__ == "__main__":
    sys.exit(main())
