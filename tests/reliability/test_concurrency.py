"""Four writer processes at once (runs and registrations, some into the same model) with a
`gc` running beside them: every run and version each writer was told it committed is
there with its object, versions of the shared model are all distinct, `verify` is clean."""

from __future__ import annotations

import multiprocessing

import pytest

from nbmodels import Registry

from .workers import busy_writer

WRITERS = 4
RUNS = 200


@pytest.mark.slow
def test_four_writers_and_a_gc_lose_nothing(registry_home):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    writers = [context.Process(target=busy_writer, args=(str(registry_home), n, RUNS, results))
               for n in range(WRITERS)]
    for process in writers:
        process.start()
    registry = Registry(registry_home)
    collected = 0
    while any(p.is_alive() for p in writers) and collected < 50:
        collected += len(registry.gc(dry_run=False).objects)  # nothing young is collectable
    found = [results.get(timeout=300) for _ in writers]
    for process in writers:
        process.join(timeout=60)
    assert not [f for f in found if f[0] == "error"], [f[1] for f in found if f[0] == "error"]
    run_ids = [run for _, runs, _ in found for run in runs]
    refs = [ref for _, _, versions in found for ref in versions]
    assert len(set(run_ids)) == WRITERS * RUNS == registry.count_runs()
    assert len(set(refs)) == len(refs) == WRITERS * RUNS // 5
    for ref in refs:
        assert registry.objects.check(registry.get(ref).object_hash)
    for run_id in run_ids:
        run = registry.run(run_id)
        assert {v.name for v in run.variables} == {"model", "table", "alpha"}
        assert all(registry.objects.check(v.object_hash) for v in run.variables if v.object_hash)
    assert collected == 0 and registry.verify().ok
    registry.close()
