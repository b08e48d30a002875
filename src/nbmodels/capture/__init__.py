"""What a tracked cell bound and read, the role of each value, data fingerprints, environment.

Everything here takes plain values (a namespace dict, a source string, a folder), never a
shell, so the tracking core, the registry and the tests call the same functions. Importing
this package imports no ML library, no pandas and no IPython.

    cells         names a cell binds, reads and fits (AST), and which it changed
    values        scalars, small collections and their JSON form
    models        what is a trained model, its hyperparameters and input signature
    roles         model, param, metric, data or other
    data          which values are data; fingerprint, schema and statistics
    fingerprints  content hashes of frames and arrays, by blocks (blocks.py)
    stats         per-column statistics, by blocks
    environment   Python, packages, user, host, git, notebook path
"""

from .cells import FIT_METHODS, CellNames, cell_inputs, cell_names, changed_names, snapshot
from .data import DataSummary, data_fingerprint, is_data, summarize_data
from .environment import (
    WATCHED_PACKAGES, environment, experiment_name, git_info, notebook_path,
)
from .models import is_model, model_params, model_signature, short_type_name, type_name
from .roles import ROLES, is_metric_name, role_of
from .values import json_value

__all__ = [
    "FIT_METHODS", "ROLES", "WATCHED_PACKAGES", "CellNames", "DataSummary", "cell_inputs", "cell_names",
    "changed_names", "data_fingerprint", "environment", "experiment_name", "git_info",
    "is_data", "is_metric_name", "is_model", "json_value", "model_params", "model_signature",
    "notebook_path", "role_of", "short_type_name", "snapshot", "summarize_data", "type_name",
]
