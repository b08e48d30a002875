"""`Registry.lineage(ref)`: the cells that produced what a run read, stored with the run."""

from __future__ import annotations

from ..dbfile import guard_errors
from ..errors import NotFoundError
from ..records import Lineage, LineageCell, LineageFlag, Run
from ..store import encode_json


@guard_errors
class LineageMixin:
    """Lineage of runs: `lineage` (the row is written by `record_run`, see `lineage_row`)."""

    def lineage(self, ref: str) -> Lineage:
        """The lineage of a run (id or prefix) or of the run that produced a model version
        (`NAME@VERSION`, `NAME@production` ...): the cells, in execution order, that produced
        what the tracked cell read, the tracked cell last, and the flags that make it
        doubtful. A run recorded without cell notes (nbmodels not loaded as an extension, or
        before lineage existed) has its own cell only, flagged `unknown_producer`.
        Raises `NotFoundError` for a version registered without a tracked run."""
        found = self.resolve(ref)
        if not isinstance(found, Run):
            if found.run_id is None:
                raise NotFoundError(f"{found.ref} was registered from a live object, not from "
                                    "a tracked run: it has no lineage")
            found = self.run(found.run_id)
        row = self.store.one("SELECT cells, flags FROM lineage WHERE run_id = ?", [found.id])
        if row is None:
            return Lineage(found.id, (LineageCell(None, found.source),), (LineageFlag(
                "unknown_producer", (), None,
                "no cell notes for this run: it was recorded outside a kernel with "
                "%load_ext nbmodels, or by an nbmodels without lineage"),))
        return Lineage(
            found.id,
            tuple(LineageCell(c["execution_count"], c["source"], tuple(c["binds"]),
                              tuple(c["reads"])) for c in row["cells"]),
            tuple(LineageFlag(f["kind"], tuple(f["names"]), f["execution_count"], f["detail"])
                  for f in row["flags"]))


def lineage_row(run_id: str, lineage: Lineage) -> dict:
    """The `lineage` table row of a run (written in the run's own transaction)."""
    return {"run_id": run_id,
            "cells": encode_json([cell.to_dict() for cell in lineage.cells]),
            "flags": encode_json([flag.to_dict() for flag in lineage.flags])}
