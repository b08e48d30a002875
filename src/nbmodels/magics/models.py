"""`%register`, `%restore` and `%stage`: model versions in and out of the kernel."""

from __future__ import annotations

import re
import warnings

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .. import api, capture, formats, render
from ..errors import NbModelsWarning
from ..objects import UnstorableObject
from .base import RegistryMagics, user_errors
from .parsing import (check_variable_name, evaluate, expression, name_for, parse,
                      parse_tags)

_MISSING_CLASS = re.compile(r"Can't get attribute '([^']+)' on <module '([^']+)'")


@magics_class
class ModelMagics(RegistryMagics):

    @magic_arguments()
    @argument("var", nargs="?", metavar="VAR",
              help="The model: a variable or an expression (gs.best_estimator_, "
                   "models[\"rf\"]). Default: the model of the last tracked run.")
    @argument("name", nargs="?", metavar="NAME",
              help="Model name (default: the variable's name; for an expression its words "
                   "joined by _, e.g. gs_best_estimator).")
    @argument("--version", help="Explicit version X.Y.Z.")
    @argument("--bump", help="major, minor or patch (default: inferred).")
    @argument("--stage", help="Stage to put the new version in.")
    @argument("--note", help="A note kept with the version.")
    @argument("--tag", action="append", metavar="KEY=VALUE", help="A tag; repeat for several.")
    @argument("--format", metavar="FORMAT", choices=formats.CHOICES,
              help=f"How to store it: {', '.join(formats.PICKLED)} (pickles: restoring one "
                   f"runs code), or a safe format: {', '.join(formats.SAFE)}; auto: the safe "
                   "one that fits the model. Default: NBModels.serializer (pickle5).")
    @line_magic
    @user_errors
    def register(self, line):
        """Register a model object as a new semantic version of a named model.

        Example::

            %register clf breast-cancer --stage staging --note "first try"
            %register gs.best_estimator_ breast-cancer
            %register clf breast-cancer --format skops
        """
        args = parse(ModelMagics.register, line)
        tags = parse_tags(args.tag)
        source = expression(args.var, line) if args.var else self._default_model()
        obj = evaluate(self.shell, source, "VAR")
        variable = source if source.isidentifier() else name_for(source)
        _check_is_model(source, obj)
        reuse = api.reusable_hash(source, obj) if source.isidentifier() else None
        # The run's object, certainly unchanged: its run is the lineage even when --format
        # stores other bytes than the run did (lineage is otherwise found by equal bytes).
        run_id = api.session.last_run_id if reuse else None
        from ..progress import Bar

        try:
            with Bar(f"saving {source}") as bar:
                version = self.registry.register(
                    obj, args.name or variable, version=args.version, bump=args.bump,
                    stage=args.stage, note=args.note, tags=tags, variable=variable,
                    stored_as=reuse, format=args.format, run_id=run_id, progress=bar)
        except UnstorableObject as exc:
            raise UsageError(f"cannot store {source}: {exc.reason}") from None
        render.display_registration(version, source)

    def _default_model(self) -> str:
        """The model a bare `%register` takes: the last tracked run's one model, or the one
        of its models that no other contains and that can predict (the pipeline, not its
        steps), judged on the objects the kernel holds under those names now."""
        run = api.last_run()
        names = [v.name for v in run.models] if run else []
        if len(names) == 1:
            return names[0]
        from ..capture.containment import default_model

        found = default_model({n: self.shell.user_ns[n] for n in names if n in self.shell.user_ns})
        if found is None:
            what = f"the last tracked run has {', '.join(names)}" if names else \
                "no tracked run in this kernel has a model"
            raise UsageError(f"which model? {what}: use %register VAR [NAME]")
        return found

    @magic_arguments()
    @argument("ref", help="A run id (prefix), NAME, NAME@1.2.0 or NAME@production.")
    @argument("--as", dest="as_name", metavar="VAR", help="Variable to bind the model to.")
    @argument("--all", action="store_true", help="Restore every captured variable of the run.")
    @line_magic
    @user_errors
    def restore(self, line):
        """Load a model (or with --all every variable of its run) back into the kernel.

        Example::

            %restore breast-cancer@1.0.0 --as old_clf
            %restore 01JD3F --all
        """
        args = parse(ModelMagics.restore, line)
        if args.as_name is not None:
            check_variable_name(args.as_name, self.shell)
        if args.all:
            if args.as_name is not None:
                raise UsageError("--as names one model: with --all every variable keeps its name")
            return self._restore_all(args.ref)
        from ..progress import Bar

        with Bar(f"restoring {args.ref}") as bar:
            name, obj = _loading(args.ref, lambda: self.registry.restore(args.ref, progress=bar))
        name = args.as_name or check_variable_name(name, self.shell, "stored variable name")
        self.shell.user_ns[name] = obj
        render.display_text(f"Restored {args.ref} as {name} ({capture.short_type_name(obj)})")

    def _restore_all(self, ref: str) -> None:
        values, skipped = _loading(ref, lambda: self.registry.restore_variables(ref))
        for name in list(values):
            try:
                check_variable_name(name, self.shell, "variable")
            except UsageError as exc:
                skipped[name] = str(exc).split(": it ", 1)[-1].split(";")[0]
                del values[name]
        namespace = self.shell.user_ns
        replaced = sorted(n for n in values if n in namespace)
        namespace.update(values)
        render.display_restored(ref, sorted(values), replaced, skipped)

    @magic_arguments()
    @argument("ref", help="NAME@VERSION (or NAME for the latest).")
    @argument("stage", help="none, staging, production or archived.")
    @argument("--note", help="Why: kept in the audit trail.")
    @line_magic
    @user_errors
    def stage(self, line):
        """Move a model version to another stage; the move is kept in the audit trail.

        Example::

            %stage breast-cancer@1.1.0 production --note "best AUC on holdout"
        """
        args = parse(ModelMagics.stage, line)
        version = self.registry.set_stage(args.ref, args.stage, note=args.note)
        render.display_text(f"{version.ref} is now {version.stage}")


def _check_is_model(source: str, obj) -> None:
    """Data and plain values are refused (a typo for the model's name, nearly always);
    another object that is no model nbmodels recognizes is registered with a warning."""
    kind = capture.short_type_name(obj)
    if capture.is_data(obj):
        raise UsageError(f"{source} is data ({kind}), not a model: register the fitted model "
                         "that was trained on it (e.g. %register clf)")
    if obj is None or capture.values.is_param_value(obj):
        raise UsageError(f"{source} is a {kind} value, not a model: register the fitted model")
    if not capture.is_model(obj):
        warnings.warn(f"{source} ({kind}) is not a fitted model nbmodels recognizes (no fit "
                      "and predict): registered as it is", NbModelsWarning, stacklevel=4)


def _loading(ref: str, load):
    """`load()`, with an object whose class or module this kernel lacks as one line."""
    try:
        return load()
    except AttributeError as exc:
        found = _MISSING_CLASS.search(str(exc))
        if found is None:
            raise
        name, module = found.groups()
        if module == "__main__":
            raise UsageError(f"{ref} needs class {name}, defined in the notebook that trained "
                             f"it: define class {name} in this kernel first (run its cell), "
                             "then restore again") from None
        raise UsageError(f"{ref} needs {module}.{name}, which this kernel's {module} does not "
                         "have: install the version it was trained with") from None
    except ModuleNotFoundError as exc:
        raise UsageError(f"{ref} needs the module {exc.name!r}, which this kernel cannot "
                         "import: install it, then restore again") from None
