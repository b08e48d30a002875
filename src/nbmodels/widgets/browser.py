"""The `%models` browser: a grid of models, one grid of the chosen model's versions,
details, compare, restore, stage, card and reproduce; and a Runs tab (`runs.RunsView`)
(ipywidgets 8 + the anywidget `Grid`)."""

from __future__ import annotations

import warnings
from html import escape

from ..htmlparts import FONT, note
from .columns import model_columns, model_label, model_text, version_columns, version_text
from .compare import CompareView
from .details import reproduce_html, version_details_html
from .grid import Grid
from .runs import RunsView
from .status import StatusLine

TABS = ("Models", "Runs")


class ModelsBrowser(StatusLine):
    """Browse a registry: search, a grid of models (click one to focus it), a paged and
    sortable grid of its versions with checkboxes, version details, compare the selected
    versions, restore one into `namespace`, change its stage, show its model card,
    reproduce it. The Runs tab (`runs`) lists the tracked runs, shows one and registers its
    model.

    Only one page of models (`model_page_size`), of versions (`page_size`) and of runs is
    ever rendered, so a registry with thousands of versions opens at once. The selection
    (`grid.selected`, in the order picked) survives paging and crosses models; the last
    version picked (`focused`) is the one details, Restore, Stage, Card and Reproduce act on.
    """

    def __init__(self, registry, namespace: dict | None = None, name: str | None = None,
                 page_size: int = 50, model_page_size: int = 8):
        import ipywidgets as w

        from ..records import STAGES

        self.registry = registry
        self.namespace = namespace if namespace is not None else {}
        self.page_size = max(1, int(page_size))
        self.focused: str | None = None
        self.compare_view: CompareView | None = None
        self._summaries = None
        self._updating = False
        self._versions: dict[str, list] = {}
        self._search_index: dict[str, str] | None = None
        self._matching_versions: set[str] | None = None

        self.title = w.HTML()
        self.search = w.Text(placeholder="Search names, tags, notes", continuous_update=True,
                             layout=w.Layout(width="320px"))
        self.models_grid = Grid(key=lambda s: s.name, search_text=model_text,
                                page_size=model_page_size, noun="model", multiple=False,
                                natural="updated_at")
        self.models_table = w.HTML()  # the static snapshot's models (not shown live)
        self.versions_title = w.HTML()
        self.grid = Grid(key=lambda v: v.ref, search_text=version_text,
                         page_size=self.page_size, noun="version")
        self.selection_label = w.HTML()
        self.clear_button = w.Button(description="Clear selection")
        self.compare_button = w.Button(description="Compare", icon="columns", disabled=True,
                                       button_style="primary")
        self.details = w.HTML(layout=w.Layout(max_height="420px", overflow="auto"))
        self.restore_as = w.Text(placeholder="as variable (optional)",
                                 layout=w.Layout(width="170px"))
        self.restore_button = w.Button(description="Restore", icon="download", disabled=True)
        self.progress = w.Output()  # Restore's bar, for a large model
        self.stage_select = w.Dropdown(options=list(STAGES), value="staging",
                                       layout=w.Layout(width="110px"))
        self.stage_note = w.Text(placeholder="note (kept in the audit trail)",
                                 layout=w.Layout(width="230px"))
        self.stage_button = w.Button(description="Stage…", disabled=True)
        self.card_button = w.Button(description="Card", icon="id-card", disabled=True,
                                    tooltip="The model card of this version (print it to file)")
        self.reproduce_button = w.Button(description="Reproduce", icon="refresh", disabled=True,
                                         tooltip="Re-run its cell on the stored inputs and "
                                                 "compare with the record")
        self.reproduce_html = w.HTML()
        self.status = w.HTML()
        self.compare_area = w.VBox()
        self.runs = RunsView(registry, on_registered=lambda v: self.refresh(select=v.name),
                             page_size=self.page_size)

        self.search.observe(self._on_search, "value")
        self.models_grid.observe(self._on_model, "selected")
        self.models_grid.observe(self._snapshot_models, ["rows", "selected"])
        self.grid.observe(self._on_select, "selected")
        self.clear_button.on_click(self._clear)
        self.compare_button.on_click(self._compare)
        self.restore_button.on_click(self._restore)
        self.stage_button.on_click(self._stage)
        self.card_button.on_click(self._card)
        self.reproduce_button.on_click(self._reproduce)

        wrap = w.Layout(flex_flow="row wrap", align_items="center")
        actions = w.HBox([self.restore_button, self.restore_as, self.stage_select,
                          self.stage_note, self.stage_button, self.card_button,
                          self.reproduce_button], layout=wrap)
        models = w.VBox([self.search, self.models_grid, self.versions_title, self.grid,
                         w.HBox([self.compare_button, self.clear_button]),
                         self.selection_label, actions, self.progress, self.status,
                         self.reproduce_html, self.details, self.compare_area],
                        layout=w.Layout(max_width="100%"))
        models.add_class("nbmodels-models")
        self.models_grid.add_class("nbmodels-models-grid")
        self.grid.add_class("nbmodels-versions-grid")
        self.tabs = w.Tab(children=[models, self.runs.widget], titles=TABS)
        self.tabs.observe(self._on_tab, "selected_index")
        self.widget = w.VBox([self.title, self.tabs], layout=w.Layout(max_width="100%"))
        self.widget.add_class("nbmodels-browser")
        self.refresh(select=name)

    # ---- data --------------------------------------------------------------------------------

    @property
    def model(self) -> str | None:
        """The model whose versions the grid shows (the one clicked in the models grid)."""
        return self.models_grid.selected[0] if self.models_grid.selected else None

    def focus_model(self, name: str) -> None:
        """Show this model's versions (what clicking its row does)."""
        self.models_grid.selected = [name]

    def show_runs(self) -> None:
        """Open the Runs tab (its runs are read the first time)."""
        self.tabs.selected_index = TABS.index("Runs")

    def _on_tab(self, change) -> None:
        if change["new"] == TABS.index("Runs") and not self.runs.loaded:
            self.runs.load()

    @property
    def selected(self) -> list[str]:
        """The selected version REFs, in the order they were picked."""
        return list(self.grid.selected)

    def refresh(self, select: str | None = None) -> None:
        """Re-read models (and the shown model's versions) from the registry."""
        self._summaries = self.registry.list_models()
        self._versions.clear()
        self._search_index = None
        self._show_models(keep=select or self.model)
        self.runs.refresh()

    def model_versions(self, name: str) -> list:
        if name not in self._versions:
            self._versions[name] = self.registry.list_versions(name)
        return self._versions[name]

    def _index(self) -> dict[str, str]:
        """Model name -> searchable text: name, description, version notes and tags (built on
        the first search, not when the browser opens)."""
        if self._search_index is None:
            index = {}
            for summary in self._summaries:
                words = [summary.name, summary.description or ""]
                words += [version_text(v) for v in self.model_versions(summary.name)]
                index[summary.name] = "\n".join(words).lower()
            self._search_index = index
        return self._search_index

    def matching_models(self) -> list:
        query = self.search.value.strip().lower()
        if not query:
            return list(self._summaries)
        index = self._index()
        return [s for s in self._summaries if all(word in index[s.name] for word in query.split())]

    # ---- models ----------------------------------------------------------------------------

    def _show_models(self, keep: str | None = None) -> None:
        """The matching models into their grid (the focused one kept, else the first), and
        the focused model's versions into the versions grid."""
        models = self.matching_models()
        total = len(self._summaries)
        self.title.value = (
            f'<div style="{FONT}"><b>nbmodels</b> · {total} model(s) · '
            f'<span style="opacity: 0.7">{escape(str(self.registry.home))}</span></div>')
        grid = self.models_grid
        self._updating = True  # our own change of the focus is not the user's pick
        try:
            grid.set_items(models[::-1], model_columns())  # natural order: oldest update first
            order = [s.name for s in grid.items]
            focus = keep if keep in order else (grid.refs[0] if grid.refs else None)
            if focus is not None:
                grid.page = order.index(focus) // grid.page_size
            grid.selected = [focus] if focus is not None else []
        finally:
            self._updating = False
        if not self._summaries:
            self.models_table.value = note("No models registered yet: train a model in a "
                                           "%%track cell, then %register it.")
            self.status.value = self.models_table.value
        self._show_versions()

    def _on_search(self, _change) -> None:
        query = self.search.value.strip().lower()
        self._matching_versions = None
        if query:
            self._matching_versions = {
                v.ref for s in self.matching_models() if query not in s.name.lower()
                for v in self.model_versions(s.name)
                if all(word in version_text(v) for word in query.split())}
        self._show_models(keep=self.model)

    def _on_model(self, _change) -> None:
        if not self._updating:
            self._show_versions()

    def _snapshot_models(self, _change=None) -> None:
        self.models_table.value = self.models_grid.html() or note("No model matches.")

    # ---- versions ------------------------------------------------------------------------------

    def _show_versions(self) -> None:
        """The shown model's versions into the grid; the search narrows them to the
        matching ones, unless the model matched by its name (or by nothing of a version)."""
        name = self.model
        versions = self.model_versions(name) if name is not None else []
        query = ""
        if self._matching_versions and any(v.ref in self._matching_versions for v in versions):
            query = self.search.value.strip()
        self.grid.set_items(versions, version_columns(versions), query=query)
        self.versions_title.value = (f'<div style="{FONT}; margin-top: 6px"><b>Versions of '
                                     f'{escape(name)}</b></div>' if name else "")
        self._show_selection()

    # ---- selection, details ----------------------------------------------------------------------

    def _on_select(self, change) -> None:
        new = [r for r in change["new"] if r not in change["old"]]
        if new:
            self.focused = new[-1]
        elif self.focused not in change["new"]:
            self.focused = change["new"][-1] if change["new"] else None
        self._show_selection()
        self._show_details()

    def select(self, *refs: str) -> None:
        """Tick versions by REF (what ticking their checkboxes does)."""
        self.grid.selected = [*self.grid.selected, *(r for r in refs if r not in self.grid.selected)]

    def _clear(self, _button=None) -> None:
        self.grid.selected = []

    def _show_selection(self) -> None:
        count = len(self.grid.selected)
        self.compare_button.disabled = count < 2
        for button in (self.restore_button, self.stage_button, self.card_button,
                       self.reproduce_button):
            button.disabled = self.focused is None
        if count:
            self.selection_label.value = (
                f'<div style="{FONT}">Selected ({count}): '
                f'{escape(", ".join(self.grid.selected))}'
                f'{"" if count > 1 else " · tick another version to compare"}'
                f' · details of {escape(self.focused or "")}</div>')
        else:
            self.selection_label.value = note("Tick versions for details; two or more to "
                                              "compare.")

    def _show_details(self) -> None:
        self.reproduce_html.value = ""
        if self.focused is None:
            self.details.value = ""
            return
        from ..interop.card import champion_of

        detail = self._attempt(lambda: self.registry.version_detail(self.focused))
        if detail is None:
            return
        version = detail.version
        lineage = self.registry.lineage(detail.run.id) if detail.run is not None else None
        listed = next((v for v in self.model_versions(version.name) if v.ref == version.ref),
                      None)
        self.details.value = version_details_html(
            version, detail.run, list(detail.history), lineage,
            location=listed.location if listed else None,
            champion=champion_of(self.registry, version))

    # ---- actions -----------------------------------------------------------------------------------

    def _compare(self, _button=None) -> None:
        if len(self.grid.selected) < 2:
            self._say("Tick two or more versions to compare.", error=True)
            return
        comparison = self._attempt(lambda: self.registry.compare(*self.grid.selected))
        if comparison is None:
            return
        self.compare_view = CompareView(comparison)
        self.compare_area.children = [self.compare_view.widget]
        self._say(f"Comparing {', '.join(self.grid.selected)}")

    def _restore(self, _button=None) -> None:
        if self.focused is None:
            return
        wanted = self.restore_as.value.strip()
        if wanted and not wanted.isidentifier():
            self._say(f"{wanted!r} is not a Python variable name", error=True)
            return
        from ..progress import Bar

        self.progress.outputs = ()
        with warnings.catch_warnings(record=True) as caught, \
                Bar(f"restoring {self.focused}", output=self.progress) as bar:
            warnings.simplefilter("always")
            restored = self._attempt(lambda: self.registry.restore(self.focused, progress=bar))
        if restored is None:
            return
        name, obj = restored
        name = wanted or name
        self.namespace[name] = obj
        notes = "".join(f" · warning: {w.message}" for w in caught)
        self._say(f"Restored {self.focused} as {name} ({type(obj).__name__}){notes}")

    def _stage(self, _button=None) -> None:
        if self.focused is None:
            return
        version = self._attempt(lambda: self.registry.set_stage(
            self.focused, self.stage_select.value, note=self.stage_note.value.strip() or None))
        if version is None:
            return
        self.stage_note.value = ""
        self.refresh(select=version.name)
        self._show_details()
        self._say(f"{version.ref} is now {version.stage}")

    def _card(self, _button=None) -> None:
        """The model card below the details, in a sandboxed frame (its page style stays its
        own; no script runs in it)."""
        if self.focused is None:
            return
        page = self._attempt(lambda: self.registry.card(self.focused))
        if page is None:
            return
        import ipywidgets as w

        self.compare_area.children = [w.HTML(
            f'<iframe sandbox="" title="model card" srcdoc="{escape(page, quote=True)}" '
            'style="width: 100%; height: 640px; border: 1px solid #d0d7de"></iframe>')]
        self._say(f"Model card of {self.focused} (nbmodels card {self.focused} -o card.html "
                  "writes it to a file)")

    def _reproduce(self, _button=None) -> None:
        """Re-run the focused version's cell on its stored inputs; the status and what
        differs go below the actions."""
        if self.focused is None:
            return
        ref = self.focused
        self._say(f"Reproducing {ref} …")
        report = self._attempt(lambda: self.registry.reproduce(ref))
        if report is None:
            return
        self.reproduce_html.value = reproduce_html(ref, report)
        self._say(f"{ref}: {report.status}")

    # ---- output ------------------------------------------------------------------------------------

    def html(self) -> str:
        """A static snapshot: the models table and the shown model's page of versions (or,
        with the Runs tab open, the page of runs)."""
        name = self.model
        if self.tabs.selected_index == TABS.index("Runs"):
            body = self.runs.html()
        else:
            body = self.models_table.value + (
                f"<div><b>{escape(name)}</b> · {escape(self.grid.page_label())}</div>"
                f"{self.grid.html()}" if name else "")
        return f'<div class="nbmodels-browser" style="{FONT}">{self.title.value}{body}</div>'

    def text(self) -> str:
        lines = [f"nbmodels · {len(self._summaries)} model(s) · {self.registry.home}"]
        lines += ["  " + model_label(s) for s in self._summaries[:50]]
        if len(self._summaries) > 50:
            lines.append(f"  … {len(self._summaries) - 50} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = self.html()
        bundle["text/plain"] = self.text()
        return bundle
