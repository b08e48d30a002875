"""The `%models` Runs view: one grid of the registry's tracked runs (searched, filtered by
experiment, sorted and paged by `Registry.find_runs`, a page at a time), the details of the
run clicked, and registering its model as a version (`Registry.register_run`)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ..htmlparts import note, short_time
from .details import run_details_html
from .grid import Column, Grid
from .status import StatusLine

RUN_METRIC_COLUMNS = 3  # with the other columns, one line per run at 1280 px
_ALL = ""  # the experiment filter's "all experiments"


@dataclass(frozen=True)
class RunRow:
    """A run of the grid's page, with what the list shows beside it: its models as
    `(variable, class)` and the REFs of the versions registered from it."""

    run: object
    models: tuple[tuple[str, str], ...]
    registered: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.run.id


def run_columns(metrics: list[str]) -> list[Column]:
    """The runs grid's columns; `metrics` (key metric first) become the metric columns.
    Every sortable key is a `Registry.runs()` column, which `find_runs` orders by."""
    shown = [Column(f"metrics.{m}", m, lambda r, m=m: r.run.metrics.get(m), numeric=True)
             for m in metrics[:RUN_METRIC_COLUMNS]]
    return [Column("id", "run", lambda r: r.run.id, limit=12),
            Column("started_at", "when", lambda r: short_time(r.run.started_at)),
            Column("experiment", "experiment", lambda r: r.run.experiment, limit=24),
            Column("status", "status", lambda r: r.run.status),
            Column("models", "model", lambda r: ", ".join(f"{n} ({t})" for n, t in r.models)
                   or None, limit=36, sortable=False),
            *shown,
            Column("duration_s", "seconds", lambda r: r.run.duration_s, numeric=True),
            Column("registered", "registered as", lambda r: ", ".join(r.registered) or None,
                   limit=28, sortable=False)]


class RunsView(StatusLine):
    """Runs: a search box and an experiment filter over a paged grid of runs (newest
    first, sortable by when, experiment, status, duration and the recent metrics); clicking
    a run shows its details (params, metrics, variables, the versions made from it, cells,
    inputs, code); Register makes a version of its model and calls `on_registered(version)`.

    Nothing is read until `load()` (the `%models` browser calls it when its Runs tab opens).
    """

    def __init__(self, registry, on_registered=None, page_size: int = 50):
        import ipywidgets as w

        self.registry = registry
        self.on_registered = on_registered
        self.focused: str | None = None
        self.loaded = False
        self.search = w.Text(placeholder="Search runs (id, experiment, note, tags, params)",
                             continuous_update=True, layout=w.Layout(width="320px"))
        self.experiment = w.Dropdown(options=[("all experiments", _ALL)], value=_ALL,
                                     layout=w.Layout(width="200px"))
        self.grid = Grid(key=lambda r: r.id, page_size=page_size, noun="run", multiple=False)
        self.variable = w.Dropdown(options=[], layout=w.Layout(width="150px", display="none"),
                                   tooltip="the run's model to register")
        self.register_as = w.Text(placeholder="as model name (default: its variable)",
                                  layout=w.Layout(width="260px"))
        self.register_button = w.Button(description="Register", icon="plus", disabled=True,
                                        tooltip="Register the run's model as a new version")
        self.status = w.HTML()
        self.details = w.HTML(layout=w.Layout(max_height="420px", overflow="auto"))

        self.search.observe(self._on_search, "value")
        self.experiment.observe(self._on_experiment, "value")
        self.grid.observe(self._on_focus, "selected")
        self.register_button.on_click(self._register)
        wrap = w.Layout(flex_flow="row wrap", align_items="center")
        self.widget = w.VBox([
            w.HBox([self.search, self.experiment], layout=wrap), self.grid,
            w.HBox([self.register_button, self.variable, self.register_as], layout=wrap),
            self.status, self.details], layout=w.Layout(max_width="100%"))
        self.widget.add_class("nbmodels-runs")
        self.grid.add_class("nbmodels-runs-grid")

    # ---- data ----------------------------------------------------------------------------

    def load(self) -> None:
        """Read the experiments and recent metric names, and show the first page."""
        from ..registry import key_metric

        head = self.registry.find_runs(limit=0)
        names = list(head.metrics)
        key = key_metric(dict.fromkeys(names))
        metrics = ([key] if key else []) + [n for n in names if n != key]
        self.experiment.options = [("all experiments", _ALL), *((e, e) for e in head.experiments)]
        self.grid.set_source(self._fetch, run_columns(metrics), query=self.search.value.strip())
        self.loaded = True
        if not head.total:
            self.status.value = note("No runs yet: run a cell with %%track.")

    def refresh(self) -> None:
        """Show the current page again (after a register, or new runs)."""
        if self.loaded:
            self.grid.reload()
            self._show_details()

    def _fetch(self, query: str, sort_by: str, descending: bool, offset: int,
               limit: int) -> tuple[list[RunRow], int]:
        order = None if sort_by == "id" and descending else \
            f"{sort_by} {'DESC' if descending else 'ASC'}"
        page = self.registry.find_runs(self.experiment.value or None, query.strip() or None,
                                       order, limit=limit, offset=offset)
        products = self.registry.run_products(run.id for run in page.runs)
        return [RunRow(run, tuple((name, kind.rsplit(".", 1)[-1])
                                  for name, kind in products[run.id].models),
                       products[run.id].versions) for run in page.runs], page.total

    def _on_search(self, _change) -> None:
        if self.loaded:
            self.grid.query = self.search.value.strip()

    def _on_experiment(self, _change) -> None:
        if self.loaded:
            self.grid.page = 0
            self.grid.reload()

    # ---- a run ---------------------------------------------------------------------------

    def open(self, run_id: str) -> None:
        """Show a run's details (what clicking its row does)."""
        self.grid.selected = [run_id]

    def _on_focus(self, change) -> None:
        self.focused = change["new"][0] if change["new"] else None
        self.status.value = ""
        self._show_details()

    def _show_details(self) -> None:
        if self.focused is None:
            self.details.value = ""
            self._show_register(None)
            return
        run = self._attempt(lambda: self.registry.run(self.focused))
        if run is None:
            return
        self.details.value = run_details_html(run, self.registry.run_versions(run.id),
                                              self.registry.lineage(run.id))
        self._show_register(run)

    def _show_register(self, run) -> None:
        names = [v.name for v in run.models if v.object_hash] if run is not None else []
        self.variable.options = names
        self.variable.layout.display = "" if len(names) > 1 else "none"
        self.register_button.disabled = not names
        self.register_button.tooltip = (
            "Register the run's model as a new version" if names else
            "This run captured no model to register" if run is not None else "Open a run first")

    def _register(self, _button=None) -> None:
        if self.focused is None:
            return
        name = self.register_as.value.strip() or None
        version = self._attempt(lambda: self.registry.register_run(
            self.focused, name, self.variable.value or None))
        if version is None:
            return
        self.register_as.value = ""
        self._say(f"Registered {version.ref} from run {self.focused}" if version.created else
                  f"Run {self.focused}'s model is already {version.ref}")
        self.refresh()
        if self.on_registered is not None:
            self.on_registered(version)

    def html(self) -> str:
        """The static copy: the shown page of runs."""
        return f'<div><b>Runs</b> · {escape(self.grid.page_label())}</div>{self.grid.html()}'
