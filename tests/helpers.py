"""Building runs without a shell, for tests of the registry itself."""

from __future__ import annotations

from datetime import datetime, timezone

from nbmodels.registry import CellRecord


def record_fit(registry, model, source: str, **values):
    """Record a run that bound `model` (and `values`) with `source`; return the model."""
    now = datetime.now(timezone.utc)
    registry.record_run(CellRecord(source=source, experiment="test", status="ok",
                                   started_at=now, ended_at=now,
                                   values={"model": model, **values}))
    return model


def run_cells(shell, *cells: str) -> None:
    """Run cells in `shell` as a notebook does (history kept), each one succeeding."""
    for cell in cells:
        result = shell.run_cell(cell, store_history=True)
        assert result.success, result
