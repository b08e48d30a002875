"""What a tracked cell bound and read, the role of each value, data fingerprints, environment.

Everything here takes plain values (a namespace dict, a source string, a folder), never a
shell, so the tracking core, the registry and the tests call the same functions. Importing
this package imports no ML library, no pandas and no IPython.

    cells         names a cell binds, reads and fits, which it changed, its inputs
    walker        the AST walk behind `cell_names` (execution order, scopes)
    values        scalars, small collections and their JSON form
    models        what is a trained model, its hyperparameters, input signature, training state
    containment   which models contain others; the default model of a run
    roles         model, param, metric, data or other
    data          which values are data; fingerprint, schema and statistics
    formats       sparse matrices, tensors, XGBoost DMatrix and LightGBM Dataset as data
    fingerprints  content hashes of frames and arrays, by blocks (blocks.py)
    stats         per-column statistics, by blocks
    environment   Python, packages, user, host, git, notebook path
"""

from .cells import (
    FIT_METHODS, CellNames, ReadPath, Snapshot, cell_inputs, cell_names, changed_names, snapshot,
)
from .containment import default_model, top_level_models
from .data import DataSummary, data_fingerprint, data_kind, is_data, summarize_data
from .environment import (
    WATCHED_PACKAGES, environment, experiment_name, git_info, notebook_path,
)
from .models import (
    can_predict, is_model, model_params, model_signature, short_type_name, training_state,
    type_name,
)
from .roles import ROLES, is_metric_name, role_of
from .values import is_param_value, json_value

__all__ = [
    "FIT_METHODS", "ROLES", "WATCHED_PACKAGES", "CellNames", "DataSummary", "ReadPath", "Snapshot",
    "can_predict", "cell_inputs", "cell_names", "changed_names", "data_fingerprint", "data_kind",
    "default_model", "environment", "experiment_name", "git_info", "is_data", "is_metric_name",
    "is_model", "is_param_value", "json_value", "model_params", "model_signature",
    "notebook_path", "role_of", "short_type_name", "snapshot", "summarize_data",
    "top_level_models", "training_state", "type_name",
]
