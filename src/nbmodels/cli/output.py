"""What the CLI prints: tables, strict JSON, and terminal text with control characters
and lone surrogates escaped."""

from __future__ import annotations

from ..jsoncodec import dumps_strict

# C0 and C1 controls but tab and newline, and the Unicode line separators and bidi
# overrides that reorder what a terminal shows: escaped, so they are seen and not obeyed.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))
             if c not in (0x09, 0x0A)}
_CONTROLS.update({c: f"\\u{c:04x}" for c in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029,
                                               *range(0x202A, 0x202F), *range(0x2066, 0x206A))})
# Lone surrogates: what bytes that are not UTF-8 in a path or argument become in Python
# (`os.fsdecode`); a UTF-8 stream refuses to write them, so they are shown escaped.
_CONTROLS.update({c: f"\\u{c:04x}" for c in range(0xD800, 0xE000)})


def terminal_text(text: str) -> str:
    """`text` with every control character and lone surrogate escaped (see `_CONTROLS`)."""
    return text.translate(_CONTROLS)


class Escaping:
    """A text stream that escapes control characters on their way to another."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(terminal_text(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def pick(record: dict, keys: list[str]) -> dict:
    return {k: record.get(k) for k in keys}


def emit(args, rows: list[dict], columns: list[str]) -> int:
    if args.json:
        print_json(rows)
    elif not rows:
        print("(none)")
    else:
        print_table(rows, columns)
    return 0


def print_json(value) -> None:
    print(dumps_strict(value, indent=2))  # NaN and infinities as null: strict JSON


def print_table(rows: list[dict], columns: list[str]) -> None:
    cells = [[cell_text(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def cell_text(value, limit: int = 60) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        value = ", ".join(f"{k}={_number(v)}" for k, v in value.items())
    text = _number(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
