"""Compare runs and model versions: what changed, and which one is better.

`compare(registry, *refs, on=None)` resolves each REF through the registry and returns a
`Comparison`: pandas DataFrames with one column per REF (params, metrics, data schema and
statistics, environment, model facts, feature importance, scores on given data), the code
diff as text, and `to_dict()` / `to_text()` for the REST server and the CLI. Nothing here
imports ipywidgets; the views live in `nbmodels.widgets`.

Column labels are the REFs as given, made unique when one is repeated (`bc@1.0.0`,
`bc@1.0.0 (2)`); `compare(registry, "NAME")` labels the versions `NAME@1.0.0`, ...

    engine    compare(): REFs to targets
    targets   Target (a run or a version) and the code diff
    report    Comparison: the DataFrames
    frames    equality, numbers and the shared frame shapes
    datasets  data paired across targets, schema facets
    scoring   scores on given data, feature importance
    output    to_dict() and to_text()
    html      the comparison as static HTML (_repr_html_, the %compare view's tabs)
    charts    each metric across versions: Vega-Lite (the `charts` extra) or plain SVG
"""

from .engine import compare
from .frames import BETTER, SAME, WORSE, as_number
from .report import Comparison
from .scoring import feature_importance, is_classifier, model_features, score_model
from .targets import CodeDiff, Target

__all__ = ["compare", "Comparison", "Target", "CodeDiff", "BETTER", "WORSE", "SAME",
           "as_number", "feature_importance", "is_classifier", "model_features", "score_model"]
