"""Code run in worker processes by the reliability tests (importable under `spawn`)."""

from __future__ import annotations

import os
import random
import time
import traceback
from datetime import datetime, timezone


class Blob:
    """A small "model" (fit + predict) whose pickle is fixed by `seed`: storing the same seed
    again stores the same bytes, which is how an orphan object gets re-stored."""

    def __init__(self, seed: int, size: int = 20_000):
        self.seed = seed
        self.payload = random.Random(seed).randbytes(size)

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return [self.seed] * len(X)


def record(registry, values: dict, experiment: str = "reliability") -> str:
    """Record a run that bound `values`, as a tracked cell would; return its id."""
    from nbmodels.registry import CellRecord

    now = datetime.now(timezone.utc)
    run = registry.record_run(CellRecord(source="fit()", experiment=experiment, status="ok",
                                         started_at=now, ended_at=now, values=values))
    return run.id


def make_orphans(home, seeds, age_s: float = 7200) -> list[str]:
    """Store Blobs as object files with no row (what a save killed after its rename leaves),
    dated `age_s` ago so `gc` may collect them."""
    from nbmodels.objects import ObjectStore

    store = ObjectStore(os.path.join(home, "objects"))
    hashes = []
    for seed in seeds:
        digest = store.put(Blob(seed)).hash
        old = time.time() - age_s
        os.utime(store.path(digest), (old, old))
        hashes.append(digest)
    return hashes


def race_worker(kind: str, home: str, trials: int, seeds_per_trial: int, barrier, results):
    """One racing process: a `writer` re-stores the trial's orphans (runs and registrations),
    a `gc` collects over and over. Each trial starts and ends on `barrier`; what happened
    goes to `results` as (kind, trial, payload), an exception as ("error", trial, text)."""
    from nbmodels import Registry

    rng = random.Random(os.getpid())
    if kind == "writer":  # the first run of a process collects the environment: slow
        warm = Registry(home)
        record(warm, {"model": Blob(-os.getpid())})
        warm.close()
    for trial in range(trials):
        barrier.wait()
        registry = Registry(home)
        try:
            seeds = list(range(trial * seeds_per_trial, (trial + 1) * seeds_per_trial))
            rng.shuffle(seeds)
            if kind == "writer":
                done = []
                for n, seed in enumerate(seeds):
                    if n % 3 == 0:
                        registry.register(Blob(seed), f"m{os.getpid()}")
                    else:
                        record(registry, {"model": Blob(seed)})
                    done.append(seed)
                results.put((kind, trial, done))
            else:
                removed, errors = [], []
                for _ in range(seeds_per_trial):
                    time.sleep(rng.random() * 0.02)  # passes spread over the writers' work
                    try:
                        removed += list(registry.gc(dry_run=False).objects)
                    except Exception:
                        errors.append(f"gc: {traceback.format_exc()}")
                results.put(("error", trial, errors[0]) if errors else (kind, trial, removed))
        except Exception:
            results.put(("error", trial, f"{kind}: {traceback.format_exc()}"))
        finally:
            registry.close()
        barrier.wait()


class BigModel(Blob):
    """A model whose weights are `mb` megabytes of float64, different for each seed."""

    def __init__(self, seed: int, mb: int):
        import numpy as np

        super().__init__(seed, size=16)
        self.weights = np.full(mb * 2**20 // 8, seed, dtype=np.float64)


KILL_POINTS = ("writing", "before-rename", "after-rename", "in-commit", "registering",
               "in-register-commit")


def _die() -> None:
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def install_kill(point: str) -> None:
    """Make this process SIGKILL itself at `point` of a save: while the run's object is
    being written (`writing`, after 64 MB), once its temp file is complete
    (`before-rename`), once it is renamed into place but no row points at it
    (`after-rename`), inside the run's write transaction (`in-commit`), while the run's
    model is serialized again for its registration (`registering`), or inside the
    registration's transaction (`in-register-commit`)."""
    from nbmodels.objects import writer
    from nbmodels.registry import Registry

    saves = {"bytes": 0, "insert": 0}
    write_and_hash = writer.HashingWriter._write_and_hash
    replace = os.replace
    insert_objects = Registry._insert_objects

    def counting_write(self, view):
        saves["bytes"] += view.nbytes
        run_done = saves["insert"] >= 1
        if (point == "writing" and saves["bytes"] > 64 * 2**20) or (
                point == "registering" and run_done and saves["bytes"] > 300 * 2**20):
            _die()
        return write_and_hash(self, view)

    def killing_replace(source, target, *args, **kwargs):
        if point == "before-rename":
            _die()
        replace(source, target, *args, **kwargs)
        if point == "after-rename":
            _die()

    def killing_insert(self, rows):
        insert_objects(self, rows)
        saves["insert"] += 1
        if (point, saves["insert"]) in (("in-commit", 1), ("in-register-commit", 2)):
            _die()

    writer.HashingWriter._write_and_hash = counting_write
    os.replace = killing_replace
    Registry._insert_objects = killing_insert


def save_big(home: str, seed: int, mb: int, kill_at: str | None = None) -> None:
    """Record a run holding a `mb` MiB model, then register it, saying on stdout when the
    save starts and what each step committed (the process is killed somewhere in it, by
    the parent or at `kill_at`, one of `KILL_POINTS`)."""
    from nbmodels import Registry

    if kill_at:
        install_kill(kill_at)
    registry = Registry(home)
    model = BigModel(seed, mb)
    print("saving", flush=True)
    run_id = record(registry, {"model": model}, experiment="kills")
    print(f"recorded {run_id}", flush=True)
    version = registry.register(model, "big")
    print(f"registered {version.ref}", flush=True)


def busy_writer(home: str, writer: int, runs: int, results) -> None:
    """Record `runs` runs (each with its own small model and a shared dataset) and register
    every fifth model, reporting (writer, run ids, version refs) or an error."""
    from nbmodels import Registry

    registry = Registry(home)
    run_ids, refs = [], []
    try:
        shared = {"rows": list(range(5_000))}  # the same bytes in every run: stored once
        for n in range(runs):
            model = Blob(writer * 100_000 + n, size=2_000)
            run_ids.append(record(registry, {"model": model, "table": shared,
                                             "alpha": n / 10}))
            if n % 5 == 0:
                refs.append(registry.register(model, "shared" if n % 10 else f"w{writer}").ref)
        results.put((writer, run_ids, refs))
    except Exception:
        results.put(("error", traceback.format_exc(), None))
    finally:
        registry.close()
