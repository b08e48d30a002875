"""`gc` racing writers and another `gc`: nothing a committed row references is ever removed.

Each trial leaves old orphan object files (what a save killed after its rename leaves: a
file, no row), then two writer processes store those very bytes again (runs and
registrations) while two `gc` processes collect over and over. After every trial each
committed row's object is present with the right bytes, `verify` is clean, no process
raised, and no removal is claimed by both gcs.
"""

from __future__ import annotations

import multiprocessing

import pytest

from nbmodels import Registry

from .workers import make_orphans, race_worker, record, Blob

TRIALS = 16
SEEDS = 24  # orphans per trial
TIMEOUT_S = 120


def referenced_hashes(registry) -> set[str]:
    return {r["h"] for r in registry.store.query(
        "SELECT object_hash AS h FROM variables WHERE object_hash IS NOT NULL UNION "
        "SELECT object_hash FROM inputs WHERE object_hash IS NOT NULL UNION "
        "SELECT object_hash FROM versions")}


def problems_after(registry, found: list[tuple]) -> list[str]:
    """What went wrong in one trial, from the registry and what the processes reported."""
    lost = [h for h in referenced_hashes(registry) if not registry.objects.check(h)]
    problems = [f"{len(lost)} committed objects lost"] if lost else []
    problems += [text for kind, _, text in found if kind == "error"]
    removals = [h for kind, _, removed in found if kind == "gc" for h in removed]
    if len(removals) != len(set(removals)):
        problems.append(f"{len(removals) - len(set(removals))} removals claimed by both gcs")
    report = registry.verify()
    problems += [f"verify: {d.kind} {d.what}" for d in report.damage[:3]]
    return problems


@pytest.mark.slow
def test_gc_never_removes_a_committed_object_while_writers_restore_orphans(registry_home):
    registry = Registry(registry_home)
    record(registry, {"model": Blob(-1)})  # the database exists before the race
    context = multiprocessing.get_context("spawn")
    kinds = ["writer", "writer", "gc", "gc"]
    barrier = context.Barrier(len(kinds) + 1, timeout=TIMEOUT_S)
    results = context.Queue()
    workers = [context.Process(target=race_worker, daemon=True,
                               args=(kind, str(registry_home), TRIALS, SEEDS, barrier, results))
               for kind in kinds]
    for worker in workers:
        worker.start()
    try:
        for trial in range(TRIALS):
            make_orphans(registry_home, range(trial * SEEDS, (trial + 1) * SEEDS))
            barrier.wait()
            barrier.wait()
            found = [results.get(timeout=TIMEOUT_S) for _ in kinds]
            problems = problems_after(registry, found)
            assert not problems, f"trial {trial}: " + "\n".join(p.strip().splitlines()[-1] for p in problems)
    finally:
        barrier.abort()
        for worker in workers:
            worker.join(timeout=TIMEOUT_S)
            if worker.is_alive():
                worker.kill()
        registry.close()


def test_a_writer_that_commits_while_gc_removes_keeps_its_object(registry_home, monkeypatch):
    """The interleaving that lost objects: gc has decided an old orphan goes; before its
    file is unlinked a writer stores the same bytes again and commits its run."""
    import threading

    from nbmodels.objects import ObjectStore

    registry = Registry(registry_home)
    record(registry, {"model": Blob(-1)})
    [orphan] = make_orphans(registry_home, [7])
    remove = ObjectStore.remove
    writer: dict = {}

    def remove_after_a_writer(store, digest):
        if not writer:
            other = Registry(registry_home)
            writer["thread"] = threading.Thread(
                target=lambda: writer.setdefault("run", record(other, {"model": Blob(7)})))
            writer["thread"].start()
            writer["thread"].join(timeout=2)  # one that waits for gc's lock ends afterwards
        return remove(store, digest)

    monkeypatch.setattr(ObjectStore, "remove", remove_after_a_writer)
    registry.gc(dry_run=False)
    writer["thread"].join()
    assert registry.run(writer["run"]).variables[0].object_hash == orphan
    assert registry.objects.check(orphan)
    assert registry.verify().ok
    registry.close()


def test_gc_says_what_it_kept_and_why(registry_home, capsys):
    """Killed saves left 5 GB of temp files: young, so kept, and the output says so."""
    import os

    from nbmodels.cli import main as cli

    registry = Registry(registry_home)
    record(registry, {"model": Blob(1)})
    registry.objects.temp_dir.mkdir(parents=True, exist_ok=True)
    for n in range(3):
        with open(registry.objects.temp_dir / f"killed{n}.tmp", "wb") as file:
            file.truncate(5 * 10**9 // 3)  # sparse: the size without the disk space
    [young] = make_orphans(registry_home, [5], age_s=60)
    assert cli(["gc"]) == 0
    out = capsys.readouterr().out
    assert "removed 0 unreferenced objects and 0 temp files" in out
    assert "kept 3 temp files (5.0 GB) younger than 1 h" in out
    assert "kept 1 unreferenced object (" in out
    assert registry.objects.exists(young) and len(registry.objects.temp_files()) == 3
    for path in registry.objects.temp_files():
        os.utime(path, (0, 0))
    report = registry.gc(dry_run=False)
    assert len(report.temp_files) == 3 and report.bytes >= 5 * 10**9 - 3
    assert report.kept_temp_files == 0 and registry.objects.temp_files() == []
    registry.close()
