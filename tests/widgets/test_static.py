"""The static copies of `%models` and `%compare` in a notebook run headless (nbclient) and
converted to HTML (nbconvert), as a viewer without a kernel sees them."""

from __future__ import annotations

import base64
import re

import nbformat
import pytest

from ..test_compare import _clock, data, models, track  # noqa: F401 (fixtures)


@pytest.mark.slow
def test_models_and_compare_render_in_nbconvert_html(registry, data, models, tmp_path):
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    X_train, _, y_train, _ = data
    for model, C, accuracy in zip(models, (1.0, 0.1, 10.0), (0.90, 0.93, 0.85)):
        track(registry, model, X_train, y_train, C=C, accuracy=accuracy, log_loss=1 - accuracy)
        registry.register(model, "bc", variable="clf", note="<b>not bold</b>")
    registry.set_stage("bc@2.0.0", "production")
    cells = ["%load_ext nbmodels", "%models bc", "%compare bc"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    # JupyterLab saves no widget state unless asked: the static copy is what stays
    NotebookClient(notebook, timeout=120, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in notebook.cells[1:]:
        [output] = [o for o in cell.outputs if o.output_type == "display_data"]
        assert "application/vnd.jupyter.widget-view+json" in output.data  # live in a kernel
    html, _ = HTMLExporter().from_notebook_node(notebook)

    browser = html[html.index("nbmodels-browser"):]
    versions = re.findall(r"<tr style=\"[^\"]*\"><td[^>]*>([0-9.]+)</td>", browser)
    assert versions[:3] == ["3.0.0", "2.0.0", "1.0.0"]  # the grid's first page, newest first
    assert "3 version(s) · page 1/1" in browser and "▼ version" in browser  # the grid's sort
    assert "&lt;b&gt;not bold&lt;/b&gt;" in browser and "<b>not bold</b>" not in browser
    compare = html[html.index("nbmodels-compare"):]
    assert "Comparing" in compare and "all 3 versions of bc" in compare
    [chart] = re.findall(r'<img alt="accuracy across versions" src="data:image/svg\+xml;base64,'
                         r'([^"]+)"', compare)
    svg = base64.b64decode(chart).decode()
    assert svg.startswith("<svg") and 'class="marks"' in svg  # drawn by Vega (vl-convert)
    assert "accuracy" in svg and "production" in svg  # the title, the stage legend
