"""What a reproduction found: `ReproduceReport` and the `Difference`s it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..records import _Record

STATUSES = ("exact", "equivalent", "differs")
# What a difference is about, in the order they are listed
KINDS = ("model", "predictions", "metrics", "params", "data", "packages", "randomness")


@dataclass(frozen=True)
class Difference(_Record):
    """One thing the re-run made otherwise than the record says: `kind` (one of `KINDS`),
    the `name` it is about (a variable, a metric, a param, an input, a package), the
    `recorded` and `now` values when there are two to show, and `detail` in words."""

    kind: str
    name: str
    detail: str
    recorded: Any = None
    now: Any = None


@dataclass(frozen=True)
class ReproduceReport(_Record):
    """The result of `Registry.reproduce`.

    `status`: `exact` (every model re-made with the same bytes as stored), `equivalent`
    (other bytes, the same predictions on the recorded inputs, and the same metrics) or
    `differs`. `differences` name what differs; package versions are listed whatever the
    status (the same code may give another model elsewhere). `models` is the status of each
    model compared, `cells` the sources re-executed (the tracked cell last), `skipped` the
    IPython commands the re-run left out (`%matplotlib`, `!pip ...`), `duration_s` the whole
    reproduction and `cell_s` the tracked cell's own run (`recorded_s` when it was tracked).
    """

    run_id: str
    mode: str  # "inputs" or "scratch"
    status: str
    differences: tuple[Difference, ...] = ()
    models: dict = field(default_factory=dict)  # {variable: status}
    cells: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    duration_s: float = 0.0
    cell_s: float = 0.0
    recorded_s: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the record was reproduced (`exact` or `equivalent`)."""
        return self.status != "differs"

    def lines(self) -> list[str]:
        """The report in words, for a terminal or a cell's output: the status first."""
        how = "from its inputs" if self.mode == "inputs" else "from scratch"
        found = [f"run {self.run_id} reproduced {how}: {self.status}"]
        recorded = f"; it took {self.recorded_s:.2f} s when tracked" \
            if self.recorded_s is not None else ""
        found.append(f"re-ran {_count(len(self.cells), 'cell')} in {self.duration_s:.2f} s "
                     f"(the tracked cell: {self.cell_s:.2f} s{recorded})")
        for variable, status in self.models.items():
            found.append(f"model {variable}: {_MODEL_STATUS[status]}")
        if self.differences:
            found.append("differences:")
            found.extend(f"  {d.kind}: {d.detail}" for d in self.differences)
        if self.skipped:
            found.append("left out (IPython commands): " + ", ".join(self.skipped))
        return found


_MODEL_STATUS = {"exact": "exact (the same bytes as stored)",
                 "equivalent": "equivalent (other bytes, the same predictions)",
                 "differs": "differs"}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
