"""`Registry.reproduce(ref)`: re-run a recorded run in a scratch namespace and compare what
it makes with the record (the logic is `nbmodels.reproduce`; this gathers what it needs)."""

from __future__ import annotations

import os
from typing import Callable, Iterable

from .. import reproduce as reproducing
from ..dbfile import guard_errors
from ..errors import InvalidInputError, NotFoundError
from ..records import Lineage, ModelVersion, Run


@guard_errors
class ReproducingMixin:
    """Reproduction: `reproduce`."""

    def reproduce(self, ref: str, mode: str = "inputs", trusted: Iterable[str] = (),
                  progress: Callable[[int, int], None] | None = None
                  ) -> reproducing.ReproduceReport:
        """Re-run the run a REF names (or the run that produced a version) in a fresh
        scratch namespace, and compare the result with the record: `mode="inputs"` runs
        the tracked cell on its stored inputs, `"scratch"` its whole lineage from the
        first cell. Returns a `ReproduceReport` whose `status` is `exact` (the same model
        bytes), `equivalent` (the same predictions on the recorded inputs and the same
        metrics) or `differs`, with the differences named.

        Stored inputs and models are deserialized as `load` would (hash verified,
        refused with `UntrustedObjectError` when pickles are not allowed or skops types not
        trusted). Raises `ReproduceError` when a cell fails when re-run
        (`MissingDataError` for a data file that is not there), `NotFoundError` when the
        REF has no tracked run or the run no captured model. `progress(done, total)` is
        told each step (cell) done."""
        if mode not in reproducing.MODES:
            raise InvalidInputError(f"unknown reproduce mode {mode!r}: use "
                                    f"{' or '.join(reproducing.MODES)}")
        run, models = self._reproduced(self.resolve(ref))
        trusted = tuple(trusted)
        stored = {i.name: i.object_hash for i in run.inputs
                  if i.object_hash and i.name.isidentifier()}
        recorded = reproducing.Recorded(
            run=run, models=models, inputs=tuple(stored),
            load_inputs=lambda: self._load_objects(stored, trusted),
            load_model=lambda name: self._load_objects(
                {f"{name} of run {run.id}": models[name][0]}, trusted).popitem()[1],
            lineage=self._recorded_lineage(run), folder=self._run_folder(run),
            progress=progress)
        return reproducing.reproduce(recorded, mode)

    def _reproduced(self, target: Run | ModelVersion) -> tuple[Run, dict[str, tuple[str, str]]]:
        """The run to re-run and `{variable: (object_hash, serializer)}` of the models to
        compare: a version's own object (it may be stored in another format than the run's),
        else every model the run captured."""
        run = target
        if isinstance(target, ModelVersion):
            if target.run_id is None:
                raise NotFoundError(f"{target.ref} was registered from a live object, not from "
                                    "a tracked run: there is no cell to re-run")
            run = self.run(target.run_id)
            if target.variable and run.variable(target.variable) is not None:
                return run, {target.variable: (target.object_hash,
                                               self._serializer(target.object_hash))}
        models = {v.name: (v.object_hash, self._serializer(v.object_hash))
                  for v in run.models if v.object_hash}
        if not models:
            raise NotFoundError(f"run {run.id} has no captured model: nothing to compare a "
                                "re-run with")
        return run, models

    def _recorded_lineage(self, run: Run) -> Lineage | None:
        """The run's stored lineage; None when it has none (recorded without cell notes)."""
        if self.store.one("SELECT run_id FROM lineage WHERE run_id = ?", [run.id]) is None:
            return None
        return self.lineage(run.id)

    def _run_folder(self, run: Run) -> str | None:
        """The folder the run's notebook is in (its cells read files relative to it), when
        it is known and still there; else None (the current directory)."""
        if not run.notebook:
            return None
        folder = os.path.join(os.path.dirname(os.fspath(self.home)),
                              os.path.dirname(run.notebook))
        return folder if os.path.isdir(folder) else None
