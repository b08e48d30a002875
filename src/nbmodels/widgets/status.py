"""The status line the `%models` views share: what an action did, or the user's mistake."""

from __future__ import annotations

from html import escape

from ..htmlparts import BAD, FONT


class StatusLine:
    """Mixed into a view that has `self.status` (an ipywidgets HTML)."""

    def _say(self, message: str, error: bool = False) -> None:
        color = f"color: {BAD}" if error else ""
        self.status.value = f'<div style="{FONT}; {color}">{escape(message)}</div>'

    def _attempt(self, action):
        """`action()`, or None with its `NbModelsError` in the status line (a click handler
        shows the user's mistakes rather than raising them)."""
        from ..errors import NbModelsError

        try:
            return action()
        except NbModelsError as exc:
            self._say(str(exc), error=True)
            return None
