"""Shared pieces of the benchmark suite: timing, results, fixtures, MLflow setup.

Every scenario measures its cases *interleaved*: round 1 runs case A, B, C, round 2 runs
them again, and so on, after one warm-up round that is not counted, so a slow minute on a
shared VM hits every tool alike. Ratios are computed from medians of the same run.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

BENCH_DIR = Path(__file__).resolve().parent
MIB = 2**20


@dataclass
class Options:
    quick: bool = False
    mlflow: bool = True
    repeat: int = 5
    only: tuple[str, ...] = ()
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nbmodels-bench-")))


@dataclass
class Measure:
    scenario: str
    name: str
    tool: str  # nbmodels | mlflow-default | mlflow-fastest | baseline
    samples: list[float]  # seconds (or bytes when unit == "bytes")
    unit: str = "s"
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "name": self.name, "tool": self.tool,
                "unit": self.unit, "median": self.median, "min": min(self.samples),
                "max": max(self.samples), "n": len(self.samples), "samples": self.samples,
                "note": self.note}


@dataclass
class Target:
    scenario: str
    what: str
    value: float
    limit: float
    kind: str  # "max" (value <= limit) or "min" (value >= limit)
    unit: str  # "s", "x", "bytes"

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.kind == "max" else self.value >= self.limit

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "what": self.what, "value": self.value,
                "limit": self.limit, "kind": self.kind, "unit": self.unit, "met": self.met}


class Results:
    def __init__(self):
        self.measures: list[Measure] = []
        self.targets: list[Target] = []
        self.notes: list[str] = []

    def add(self, measure: Measure) -> Measure:
        self.measures.append(measure)
        print(f"  {measure.tool:<15} {measure.name:<58} {fmt(measure.median, measure.unit):>10}"
              f"  [{fmt(min(measure.samples), measure.unit)} .. "
              f"{fmt(max(measure.samples), measure.unit)}] n={len(measure.samples)}"
              + (f"  ({measure.note})" if measure.note else ""), flush=True)
        return measure

    def target(self, scenario: str, what: str, value: float, limit: float, kind: str = "max",
               unit: str = "s") -> Target:
        found = Target(scenario, what, value, limit, kind, unit)
        self.targets.append(found)
        sign = "<=" if kind == "max" else ">="
        print(f"  target {'MET ' if found.met else 'MISS'} {what}: {fmt(value, unit)} "
              f"(target {sign} {fmt(limit, unit)})", flush=True)
        return found

    def get(self, scenario: str, name: str, tool: str) -> Measure | None:
        return next((m for m in self.measures if m.scenario == scenario and m.name == name
                     and m.tool == tool), None)


def fmt(value: float, unit: str = "s") -> str:
    if value is None:
        return "n/a"
    if unit == "x":
        return f"{value:.2f}x" if value < 10 else f"{value:,.1f}x" if value < 100 else f"{value:,.0f}x"
    if unit == "bytes":
        return f"{value / MIB:,.1f} MiB"
    if unit == "MB/s":
        return f"{value:,.0f} MB/s"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def interleave(cases: dict[str, Callable[[], float]], repeat: int, warmup: int = 1,
               pause: bool = True) -> dict[str, list[float]]:
    """Run every case once per round, `warmup` uncounted rounds then `repeat` counted ones.

    A case returns the seconds of the operation it measures (so its own preparation, e.g.
    fitting a fresh model, is not counted). Each round starts one case later than the one
    before: what a heavy case leaves behind (MLflow's default `log_model` runs ~9 s and
    leaves garbage and threads) falls on every case in turn, not always on the one after it.
    Each case starts after `gc.collect()` and `settle()`; `pause=False` runs the cases back
    to back (only `gc.collect()` between them), as a user runs cells with no pause.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    previous = None
    for round_ in range(warmup + repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            case = cases[name]
            gc.collect()
            waited = settle() if pause else 0.0
            if waited > SETTLE_REPORT_S:
                print(f"  (waited {waited:.1f} s for the machine to be quiet after {previous})",
                      file=sys.stderr)
            previous = name
            elapsed = case()
            if round_ >= warmup:
                samples[name].append(elapsed)
    return samples


SETTLE_BUSY_CORES = 0.15  # quiet: less than this many cores busy, machine-wide
SETTLE_WINDOW_S = 0.1
SETTLE_MAX_S = 20.0
SETTLE_REPORT_S = 1.0


def settle() -> float:
    """Flush every file to disk, then wait until the machine is quiet, at most
    `SETTLE_MAX_S`; the seconds that took.

    A case can leave work running after it returns: MLflow's default `log_model` starts a
    subprocess and threads that go on for seconds. On two cores whatever case comes next,
    any tool's, would be timed sharing the CPU with it, so each case starts once less than
    `SETTLE_BUSY_CORES` cores are busy over `SETTLE_WINDOW_S`, machine-wide."""
    start = time.perf_counter()
    if hasattr(os, "sync"):
        # Files the last case wrote without fsync (MLflow's artifacts, SQLite's WAL) would
        # be flushed by the next fsync on the file system, whichever case calls it.
        os.sync()
    while time.perf_counter() - start < SETTLE_MAX_S:
        if _busy_cores(SETTLE_WINDOW_S) < SETTLE_BUSY_CORES:
            break
    return time.perf_counter() - start


def _busy_cores(window_s: float) -> float:
    import psutil

    return psutil.cpu_percent(interval=window_s) / 100 * (psutil.cpu_count() or 1)


@contextmanager
def stopwatch():
    """`with stopwatch() as t: ...` then `t()` is the elapsed seconds."""
    start = time.perf_counter()
    end = None

    def elapsed():
        return (end or time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end = time.perf_counter()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ---- physical-limit baselines ------------------------------------------------------------------
# Plain `open()` buffering: measured here it is the fastest for both directions (a 1 MiB
# buffer adds a copy of every large array), so the baselines are the hardest to beat.

def pickle_dump_fsync(obj, path: Path) -> float:
    start = time.perf_counter()
    with open(path, "wb") as file:
        pickle.dump(obj, file, protocol=5)
        file.flush()
        os.fsync(file.fileno())
    return time.perf_counter() - start


def joblib_dump_fsync(obj, path: Path) -> float:
    import joblib

    start = time.perf_counter()
    with open(path, "wb") as file:
        joblib.dump(obj, file)
        file.flush()
        os.fsync(file.fileno())
    return time.perf_counter() - start


def pickle_load(path: Path) -> float:
    start = time.perf_counter()
    with open(path, "rb") as file:
        pickle.load(file)
    return time.perf_counter() - start


def joblib_load(path: Path) -> float:
    import joblib

    start = time.perf_counter()
    joblib.load(path)
    return time.perf_counter() - start


# ---- fixtures ----------------------------------------------------------------------------------

def breast_cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return train_test_split(X, y, test_size=0.25, random_state=0)


def large_forest(quick: bool, samples: int = 40000):
    """A RandomForest of ~60 MB pickled (~6 MB with --quick), fitted once per run; about
    1.5 kB per training sample: `samples=13000` gives ~20 MB."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    n = 1500 if quick else samples
    X, y = make_classification(n_samples=n, n_features=20, n_informative=10, flip_y=0.15,
                               random_state=0)
    return RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=0).fit(X, y), X, y


def fresh_copy(obj, nonce: int):
    """A new object with the same model and different bytes: dedup cannot help."""
    copy = pickle.loads(pickle.dumps(obj, protocol=5))
    copy.bench_nonce_ = nonce
    return copy


def git_folder(path: Path) -> Path:
    """A folder in a git work tree with one commit, like a notebook's project folder."""
    path.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    (path / "README").write_text("bench\n")
    for command in (["git", "init", "-q"], ["git", "add", "README"],
                    ["git", "commit", "-q", "-m", "init"]):
        subprocess.run(command, cwd=path, env=env, check=True, capture_output=True)
    return path


def shell(home: Path):
    """A real IPython InteractiveShell with nbmodels loaded and pointed at `home`."""
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_line_magic("load_ext", "nbmodels")
    ip.run_line_magic("config", f"NBModels.home = {str(home)!r}")
    ip.run_line_magic("config", "NBModels.show_summary = False")
    return ip


def run_cell(ip, code: str) -> float:
    """Run a cell and fail loudly if it raised (a benchmark of an error is worthless)."""
    # what the cell displays goes nowhere, as in a frontend that is not printing to a terminal
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        result = ip.run_cell(code, store_history=True)
        elapsed = time.perf_counter() - start
    if not result.success:
        raise RuntimeError(f"cell failed: {code[:60]!r}: {result.error_in_exec or result.error_before_exec}")
    return elapsed


# ---- MLflow ------------------------------------------------------------------------------------

def mlflow_setup(folder: Path, experiment: str = "bench"):
    """Point MLflow at a local sqlite tracking/registry URI and a local artifact folder."""
    import logging
    import warnings

    import mlflow

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    folder.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient(uri, uri)
    if client.get_experiment_by_name(experiment) is None:
        client.create_experiment(experiment, artifact_location=(folder / "artifacts").as_uri())
    mlflow.set_experiment(experiment)
    return mlflow, client


def fastest_kwargs() -> dict:
    """MLflow's fastest configuration: cloudpickle, pinned requirements (no inference)."""
    from importlib.metadata import version

    return {"serialization_format": "cloudpickle",
            "pip_requirements": [f"scikit-learn=={version('scikit-learn')}",
                                 f"cloudpickle=={version('cloudpickle')}"]}


def disk_usage(path: Path) -> int:
    """Bytes allocated on disk under `path`, each inode counted once (du semantics)."""
    seen, total = set(), 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(root, name))
            if (stat.st_dev, stat.st_ino) in seen:
                continue
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_blocks * 512
    return total


def python() -> str:
    return sys.executable
