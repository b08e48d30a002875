"""Interoperability and reports: MLflow models in and out, and model cards.

    mlflow_export  a version as an MLflow model directory (`MLmodel`, the model in its
                   flavour's own file, requirements, signature, input example), written
                   without MLflow and without an inference subprocess
    mlflow_push    that directory as a run, a logged model and a registered model version
                   on an MLflow tracking server (needs `nbmodels[mlflow]`)
    mlflow_import  an MLflow model and its run's params and metrics, ready to register
    card           a model card (HTML with a print stylesheet, or Markdown) from the
                   registry's records alone

Nothing here is imported by `import nbmodels` or `%load_ext nbmodels`, and MLflow only when
a push or an import runs. `Registry` calls these through its `InteropMixin`.
"""
