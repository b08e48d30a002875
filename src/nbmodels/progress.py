"""Progress bars for what can take a while: saving or restoring a large model, push and
pull, reproduce. tqdm's notebook bar in a notebook (`tqdm.auto`), a text bar elsewhere.

The registry layer knows nothing of bars: its long operations take a plain callback
`progress(done, total)` (bytes, objects or steps). The surfaces (magics, CLI, widgets) pass
a `Bar`, which opens a bar only when it is worth one: once the operation has run for
`after_s` seconds, or at once when its total is over `large` bytes. A quick operation shows
nothing. A widget passes its ipywidgets `Output` (`output=`): the bar is drawn there, inside
the widget, rather than under the cell. Thread-safe (push and pull report from their worker
threads).
"""

from __future__ import annotations

import threading
import time

AFTER_S = 1.0
LARGE_BYTES = 50_000_000


class Bar:
    """A `progress(done, total)` callback that shows a tqdm bar when it is worth one."""

    def __init__(self, desc: str, unit: str = "B", after_s: float | None = None,
                 large: int | None = None, file=None, tty_only: bool = False, output=None):
        self.desc, self.unit, self.file, self.output = desc, unit, file, output
        self.after_s = AFTER_S if after_s is None else after_s
        self.large = LARGE_BYTES if large is None else large
        self.tty_only = tty_only  # a terminal command: no bar when stderr is a file or pipe
        self.done, self.total = 0, None
        self.shown = False  # whether a bar was opened
        self._bar = None
        self._started = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int | None = None) -> None:
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            if self._bar is None and self._due():
                self._open()
            if self._bar is not None:
                if self.total is not None and self._bar.total != self.total:
                    self._bar.total = self.total
                self._bar.update(done - self._bar.n)

    def step(self, count: int = 1) -> None:
        """`count` more done (for callers that count rather than measure)."""
        self(self.done + count)

    def _due(self) -> bool:
        large = self.unit == "B" and (self.total or 0) > self.large
        return large or time.monotonic() - self._started >= self.after_s

    def _open(self) -> None:
        if self.output is not None:
            self._open_in_output()
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(total=self.total, desc=self.desc, unit=self.unit,
                         unit_scale=self.unit == "B", unit_divisor=1024, leave=True,
                         file=self.file, dynamic_ncols=True,
                         disable=None if self.tty_only else False)
        self.shown = True

    def _open_in_output(self) -> None:
        """tqdm's notebook bar, not displayed under the cell but added to `output` (a click
        handler's display would go wherever the kernel's last message points)."""
        from tqdm.notebook import tqdm

        self._bar = tqdm(total=self.total, desc=self.desc, unit=self.unit,
                         unit_scale=self.unit == "B", unit_divisor=1024, leave=True,
                         display=False)
        self.output.append_display_data(self._bar.container)
        self.shown = True

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.update(self.done - self._bar.n)
                self._bar.close()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
