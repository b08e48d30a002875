"""The `%compare` view: tabs over a `Comparison` (ipywidgets 8), with its static copy."""

from __future__ import annotations

from ..comparison.charts import chart_bundle
from ..comparison.html import (
    TITLES,
    code_html,
    comparison_html,
    data_html,
    env_html,
    header_html,
    metrics_tab_html,
    model_html,
    param_rows,
)
from ..htmlparts import note


class CompareView:
    """Tabs Metrics, Params, Code, Data, Environment, Model over a `Comparison`.

    `widget` is the ipywidgets tree; displaying the view also leaves the static HTML and
    text of the comparison in the notebook. With the `charts` extra the Metrics tab holds
    interactive Vega-Lite charts (`chart_output`); without it, the SVG fallback."""

    def __init__(self, comparison, chart: bool | None = None):
        import ipywidgets as w

        self.comparison = comparison
        self.chart = chart
        wanted = comparison.wants_chart if chart is None else chart
        bundle = chart_bundle(comparison) if wanted else None
        self.header = w.HTML(header_html(comparison))
        # the Vega-Lite charts go in an Output below the table; else the SVGs in the table's HTML
        self.metrics_html = w.HTML(metrics_tab_html(comparison, wanted and bundle is None))
        self.chart_output = w.Output()
        if bundle is not None:
            self.chart_output.outputs = ({"output_type": "display_data", "data": bundle,
                                          "metadata": {}},)
        self.only_changed = w.Checkbox(value=True, description="only changed params",
                                       indent=False)
        self.params_html = w.HTML()
        self.code_mode = w.ToggleButtons(options=["unified", "side by side"], value="unified")
        self.code_html = w.HTML()
        self.data_html = w.HTML(data_html(comparison))
        self.env_html = w.HTML(env_html(comparison))
        self.model_html = w.HTML(model_html(comparison, importance=False))
        self.tabs = w.Tab(children=[
            w.VBox([self.metrics_html, self.chart_output]),
            w.VBox([self.only_changed, self.params_html]),
            w.VBox([self.code_mode, self.code_html]), self.data_html, self.env_html,
            self.model_html])
        self.tabs.titles = TITLES
        self.only_changed.observe(self._show_params, "value")
        self.code_mode.observe(self._show_code, "value")
        self.tabs.observe(self._on_tab, "selected_index")
        self._show_params()
        self._show_code()
        self.widget = w.VBox([self.header, self.tabs],
                             layout=w.Layout(max_width="100%", overflow="auto"))
        self.widget.add_class("nbmodels-compare")

    def _show_params(self, _change=None) -> None:
        frame = self.comparison.params
        if self.only_changed.value:
            frame = frame[frame["changed"]]
            if not len(frame):
                self.params_html.value = note("No param changed.")
                return
        self.params_html.value = param_rows(frame, self.comparison.labels)

    def _show_code(self, _change=None) -> None:
        self.code_html.value = code_html(self.comparison,
                                         side_by_side=self.code_mode.value == "side by side")

    def _on_tab(self, change) -> None:
        if change["new"] == TITLES.index("Model"):
            self.show_importance()

    def show_importance(self) -> None:
        """Load the models (first time only) and add their feature importance to the tab."""
        self.model_html.value = model_html(self.comparison, importance=True)
        self.header.value = header_html(self.comparison)  # loading may have added warnings

    def html(self) -> str:
        return comparison_html(self.comparison, self.chart)

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = self.html()
        bundle["text/plain"] = self.comparison.to_text()
        return bundle
