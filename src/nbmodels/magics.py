"""The IPython magics: `%%track`, `%register`, `%restore`, `%stage`.

Each magic parses its line with `magic_arguments`, makes one `Registry` call and renders
the result. `NbModelsError` becomes a one-line `UsageError`; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import ast
import functools
import os
import warnings
from datetime import datetime, UTC

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from . import api, capture, render
from .config import NBModels
from .errors import NbModelsError, NbModelsWarning


def _user_errors(method):
    """Turn nbmodels' own errors into the one-line `UsageError` IPython shows plainly."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841  (IPython hides this frame in tracebacks)
        try:
            return method(*args, **kwargs)
        except NbModelsError as exc:
            raise UsageError(str(exc)) from None

    return wrapper


def _parse(magic, line: str):
    """`parse_argstring`, with the quotes around 'quoted values' removed."""
    args = parse_argstring(magic, line)
    for key, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, key, _unquote(value))
        elif isinstance(value, list):
            setattr(args, key, [_unquote(v) if isinstance(v, str) else v for v in value])
    return args


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _split_names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


def _parse_tags(pairs: list[str] | None) -> dict[str, str]:
    tags = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad --tag {pair!r}: use KEY=VALUE")
        tags[key.strip()] = value
    return tags


class RegistryMagics(Magics):
    """Magics that work on the kernel's registry (`%config NBModels.home`, else the default)."""

    def __init__(self, shell, config: NBModels):
        super().__init__(shell)
        self.options = config

    @property
    def registry(self):
        api.session.home = self.options.home
        return api.default_registry()


@magics_class
class NBModelsMagics(RegistryMagics):

    @magic_arguments()
    @argument("experiment", nargs="?", help="Experiment name (default: the notebook's file stem).")
    @argument("--note", help="A note kept with the run.")
    @argument("--tag", action="append", metavar="KEY=VALUE", help="A tag; repeat for several.")
    @argument("--params", metavar="A,B", help="Names to record as params whatever their type.")
    @argument("--metrics", metavar="A,B", help="Names to record as metrics.")
    @argument("--ignore", metavar="A,B", help="Names to leave out of the run.")
    @cell_magic
    def track(self, line, cell):
        """Run the cell as usual, then record it as a run: code, params, data, metrics, model.

        Example::

            %%track breast-cancer --note "baseline" --tag team=risk
            clf = LogisticRegression(C=1.0, max_iter=500).fit(X_train, y_train)
            accuracy = clf.score(X_test, y_test)
        """
        __tracebackhide__ = True  # noqa: F841
        args = _parse(self.track, line)
        tags = _parse_tags(args.tag)
        ignored = set(_split_names(args.ignore))
        registry = self.registry  # resolve the home before the cell can chdir
        namespace = self.shell.user_ns
        source = self.shell.transform_cell(cell)
        names = capture.cell_names(source)
        before = capture.snapshot(namespace, names.bound | names.read | names.fitted)
        inputs = capture.cell_inputs(names, before, ignored)
        summaries = {n: capture.summarize_data(v) for n, v in inputs.items()}
        notebook = capture.notebook_path(namespace, os.getcwd())
        # `git status` takes milliseconds: let it run while the cell does.
        git = _in_background(capture.git_info, os.path.dirname(notebook) if notebook
                             else os.getcwd())
        api.session.tracking = {"params": {}, "metrics": {}}
        started = datetime.now(UTC)
        error = None
        try:
            return self._run(cell, source)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            logged, api.session.tracking = api.session.tracking, None
            changed = capture.changed_names(before, namespace, names.bound, names.fitted)
            values = {n: namespace[n] for n in changed if n not in ignored}
            self._record(registry, _cell_record(
                source=cell, experiment=args.experiment or capture.experiment_name(notebook),
                status="failed" if error else "ok", started_at=started,
                ended_at=datetime.now(UTC), values=values, inputs=inputs,
                input_summaries=summaries, note=args.note, tags=tags,
                param_names=_split_names(args.params), metric_names=_split_names(args.metrics),
                logged_params=logged["params"], logged_metrics=logged["metrics"], error=error,
                notebook=_relative_notebook(notebook, registry.home), git=git.result()), values)

    def _run(self, cell: str, source: str):
        """Execute like a plain cell: statements, then the value of a last expression."""
        __tracebackhide__ = True  # noqa: F841
        tree = self.shell.transform_ast(self.shell.compile.ast_parse(source))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        filename = self.shell.compile.cache(source, self.shell.execution_count, raw_code=cell)
        namespace = self.shell.user_ns
        exec(self.shell.compile(tree, filename, "exec"), self.shell.user_global_ns, namespace)
        if last is None:
            return None
        value = eval(self.shell.compile(ast.Expression(last.value), filename, "eval"),
                     self.shell.user_global_ns, namespace)
        return None if cell.rstrip().endswith(";") else value

    def _record(self, registry, cell_record, values: dict) -> None:
        max_bytes = int(self.options.max_object_mb * 2**20)
        try:
            run = registry.record_run(cell_record, max_object_bytes=max_bytes,
                                      store_inputs=self.options.store_inputs)
        except Exception as exc:  # the user's cell must not fail because recording did
            warnings.warn(f"nbmodels could not record this run: {type(exc).__name__}: {exc}",
                          NbModelsWarning, stacklevel=2)
            return
        api.session.last_run_id = run.id
        api.session.just_tracked = {v.name: (values[v.name], v.object_hash) for v in run.models}
        if self.options.show_summary:
            render.display_run_summary(run)

    @magic_arguments()
    @argument("var", nargs="?", help="Variable holding the model (default: the model of the "
                                     "last tracked run).")
    @argument("name", nargs="?", help="Model name (default: the variable's name).")
    @argument("--version", help="Explicit version X.Y.Z.")
    @argument("--bump", help="major, minor or patch (default: inferred).")
    @argument("--stage", help="Stage to put the new version in.")
    @argument("--note", help="A note kept with the version.")
    @argument("--tag", action="append", metavar="KEY=VALUE", help="A tag; repeat for several.")
    @line_magic
    @_user_errors
    def register(self, line):
        """Register a model object as a new semantic version of a named model.

        Example::

            %register clf breast-cancer --stage staging --note "first try"
        """
        args = _parse(self.register, line)
        tags = _parse_tags(args.tag)
        var = args.var or self._last_model_variable()
        if var not in self.shell.user_ns:
            raise UsageError(f"no variable {var!r} in the kernel: name the variable holding "
                             "the model")
        obj = self.shell.user_ns[var]
        version = self.registry.register(
            obj, args.name or var, version=args.version, bump=args.bump, stage=args.stage,
            note=args.note, tags=tags, variable=var, stored_as=self._stored_hash(var, obj))
        render.display_registration(version, var)

    @staticmethod
    def _stored_hash(var: str, obj) -> str | None:
        """The hash the last tracked cell stored `obj` under, if no code has run since it:
        then these are still its bytes and the model need not be serialized again."""
        captured, digest = api.session.just_tracked.get(var, (None, None))
        return digest if captured is obj else None

    def _last_model_variable(self) -> str:
        run = api.last_run()
        models = [v.name for v in run.models] if run else []
        if len(models) != 1:
            found = f"the last tracked run has {', '.join(models)}" if models else \
                "no tracked run in this kernel has a model"
            raise UsageError(f"which model? {found}: use %register VAR [NAME]")
        return models[0]

    @magic_arguments()
    @argument("ref", help="A run id (prefix), NAME, NAME@1.2.0 or NAME@production.")
    @argument("--as", dest="as_name", metavar="VAR", help="Variable to bind the model to.")
    @argument("--all", action="store_true", help="Restore every captured variable of the run.")
    @line_magic
    @_user_errors
    def restore(self, line):
        """Load a model (or with --all every variable of its run) back into the kernel.

        Example::

            %restore breast-cancer@1.0.0 --as old_clf
        """
        args = _parse(self.restore, line)
        if args.as_name and not args.as_name.isidentifier():
            raise UsageError(f"bad --as {args.as_name!r}: give a Python variable name")
        if args.all:
            values = self.registry.load_variables(args.ref)
            self.shell.user_ns.update(values)
            render.display_text(f"Restored {len(values)} variables from {args.ref}: "
                                f"{', '.join(sorted(values))}")
            return
        name, obj = self.registry.restore(args.ref)
        name = args.as_name or name
        self.shell.user_ns[name] = obj
        render.display_text(f"Restored {args.ref} as {name} ({capture.short_type_name(obj)})")

    @magic_arguments()
    @argument("ref", help="NAME@VERSION (or NAME for the latest).")
    @argument("stage", help="none, staging, production or archived.")
    @argument("--note", help="Why: kept in the audit trail.")
    @line_magic
    @_user_errors
    def stage(self, line):
        """Move a model version to another stage; the move is kept in the audit trail.

        Example::

            %stage breast-cancer@1.1.0 production --note "best AUC on holdout"
        """
        args = _parse(self.stage, line)
        version = self.registry.set_stage(args.ref, args.stage, note=args.note)
        render.display_text(f"{version.ref} is now {version.stage}")


def _cell_record(**fields):
    from .registry import CellRecord

    return CellRecord(**fields)


def _relative_notebook(notebook: str | None, home) -> str | None:
    """The notebook path relative to the registry's folder: no absolute paths are stored."""
    if not notebook:
        return None
    try:
        return os.path.relpath(notebook, os.path.dirname(home))
    except ValueError:
        return os.path.basename(notebook)


_executor = None


def _in_background(function, *args):
    global _executor
    if _executor is None:
        from concurrent.futures import ThreadPoolExecutor

        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbmodels")
    return _executor.submit(function, *args)


def _forget_tracked_objects(info) -> None:
    """Before any cell but a `%register`: code may change a model after it was stored."""
    if not (getattr(info, "raw_cell", "") or "").lstrip().startswith("%register"):
        api.session.just_tracked = {}


def load_ipython_extension(ipython) -> None:
    config = next((c for c in ipython.configurables if isinstance(c, NBModels)), None)
    if config is None:
        config = NBModels(parent=ipython)
        ipython.configurables.append(config)
        ipython.events.register("pre_run_cell", _forget_tracked_objects)
    ipython.register_magics(NBModelsMagics(ipython, config))
    from .browse_magics import BrowseMagics

    ipython.register_magics(BrowseMagics(ipython, config))
