"""The browsing magics: `%compare` and `%models`.

Each parses its line, makes one `Registry` call and displays a view from
`nbmodels.widgets`. `NbModelsError` becomes a one-line `UsageError`.
"""

from __future__ import annotations

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .magics import RegistryMagics, _parse, _user_errors


@magics_class
class BrowseMagics(RegistryMagics):

    def _variable(self, name: str):
        if name not in self.shell.user_ns:
            raise UsageError(f"--on: no variable {name!r} in the kernel: give the names of "
                             "the features and the true targets, e.g. --on X_test y_test")
        return self.shell.user_ns[name]

    @magic_arguments()
    @argument("refs", nargs="+", metavar="REF",
              help="Two or more run ids, NAME@1.2.0, NAME@production ...; or one model NAME "
                   "for all its versions. The same REF twice compares it with itself.")
    @argument("--on", nargs=2, metavar=("X", "Y"),
              help="Score every model on these kernel variables (features, true targets) "
                   "and show how often their predictions disagree.")
    @argument("--no-chart", action="store_true", help="Leave out the metric charts.")
    @line_magic
    @_user_errors
    def compare(self, line):
        """Compare runs or model versions: params, metrics (better/worse), code diff, data
        schema and statistics, packages, model type and size.

        Examples::

            %compare breast-cancer@1.0.0 breast-cancer@1.1.0
            %compare breast-cancer                      # every version, with metric charts
            %compare breast-cancer@production breast-cancer@latest --on X_test y_test
        """
        from IPython.display import display

        from .widgets import CompareView

        args = _parse(self.compare, line)
        on = (self._variable(args.on[0]), self._variable(args.on[1])) if args.on else None
        comparison = self.registry.compare(*args.refs, on=on)
        display(CompareView(comparison, chart=False if args.no_chart else None))

    @magic_arguments()
    @argument("name", nargs="?", help="Open the browser on this model.")
    @argument("--page-size", type=int, default=50, help="Versions per page (default 50).")
    @line_magic
    @_user_errors
    def models(self, line):
        """Browse the registry: search, versions, details, compare, restore, change stages.

        Example::

            %models breast-cancer
        """
        from IPython.display import display

        from .widgets import ModelsBrowser

        args = _parse(self.models, line)
        if args.page_size < 1:
            raise UsageError("--page-size must be 1 or more")
        registry = self.registry
        if args.name:
            registry.count_versions(args.name)  # NotFoundError with "did you mean" for a typo
        display(ModelsBrowser(registry, self.shell.user_ns, name=args.name,
                              page_size=args.page_size))
