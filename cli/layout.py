"""Terminal layout that never cuts what a person reads or copies, at any width.

The rules, for every table, line and command the CLI prints:

- A *whole* cell (a name, an id, a revision, a time, a number) is never broken: a table is drawn
  only when every whole cell fits on one line and every other cell fits its longest word; the
  columns get exactly the widths that make it so. Otherwise each row is printed as a paragraph
  of its own, wrapped at spaces.
- Prose is wrapped at spaces only (never inside a word, never at a hyphen of a name).
- A command to copy is printed on lines of its own: whole when it fits, else split between words
  (never inside quotes) with shell continuations, its comment on a line above it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

GAP = 2  # the space between two columns (none at the table's edges)


@dataclass(frozen=True)
class Column:
    """A table column: `whole` cells are never broken; the others wrap at spaces."""

    header: str
    whole: bool = False
    justify: str = "left"


def _plain(cell: str) -> str:
    return Text.from_markup(cell).plain


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def _widths(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], room: int
) -> list[int] | None:
    """Each column's width, or None when the whole cells and longest words do not fit `room`."""
    texts = [
        [_plain(column.header), *(_plain(row[i]) for row in rows)]
        for i, column in enumerate(columns)
    ]
    widest = [
        max(len(line) for cell in cells for line in (cell.splitlines() or [""])) for cells in texts
    ]
    least = [
        widest[i] if column.whole else max(_longest_word(cell) for cell in texts[i])
        for i, column in enumerate(columns)
    ]
    space = room - (len(columns) - 1) * GAP
    if sum(least) > space:
        return None
    widths = [max(1, w) for w in least]
    spare = space - sum(widths)
    # Shared out like water: the columns that need least are made one line first, then each of
    # the others gets an equal share of what is left (never more than it needs).
    needs = {i: widest[i] - widths[i] for i in range(len(columns)) if widest[i] > widths[i]}
    for left, i in enumerate(sorted(needs, key=needs.__getitem__)):
        given = min(needs[i], spare // (len(needs) - left))
        widths[i] += given
        spare -= given
    return widths


def fits(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> bool:
    """Whether a table of these rows can be drawn at `width` without cutting anything whole."""
    return _widths(columns, rows, width) is not None


def print_table(
    console: Console,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
) -> None:
    """A table sized so nothing whole is cut; a paragraph per row when no table can be."""
    widths = _widths(columns, rows, console.width)
    if widths is None:
        _print_paragraphs(console, title, columns, rows)
        return
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, GAP - 1, 0, 0),  # and the column rule between: GAP in all
    )
    for column, width in zip(columns, widths, strict=True):
        table.add_column(
            column.header,
            width=width,
            no_wrap=column.whole,
            overflow="fold",  # never reached: every word fits its column
            justify=column.justify,  # type: ignore[arg-type]
        )
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _print_paragraphs(
    console: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]]
) -> None:
    """Each row as one paragraph: its first cell, then `header value` for the others."""
    console.print(f"[bold]{escape(title)}[/bold]")
    for row in rows:
        parts = [
            cell if index == 0 else f"{column.header} {cell}"
            for index, (column, cell) in enumerate(zip(columns, map(_plain, row), strict=True))
            if cell
        ]
        print_wrapped(console, " · ".join(parts), hanging="    ")


def wrapped(text: str, width: int, indent: str = "", hanging: str | None = None) -> list[str]:
    """`text` in lines of at most `width`, broken at spaces only (a word longer than the line
    keeps a line of its own)."""
    return textwrap.wrap(
        text,
        width=max(width, len(indent) + 1),
        initial_indent=indent,
        subsequent_indent=indent if hanging is None else hanging,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent]


def print_wrapped(
    console: Console,
    text: str,
    *,
    indent: str = "",
    hanging: str | None = None,
    style: str | None = None,
) -> None:
    """Plain `text` wrapped at spaces to the console's width (never inside a word or a name)."""
    for line in wrapped(text, console.width, indent, hanging):
        console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


def command_lines(command: str, width: int, indent: str = "  ") -> list[str]:
    """A command (one or several lines) as copy-ready lines within `width`: each line's comment
    above it, then its words, split between words (never inside quotes) with ` \\` continuations."""
    lines: list[str] = []
    for line in command.strip().splitlines():
        code, comment = _split_comment(line)
        lines += [f"# {part}" for part in wrapped(comment, width - 2)] if comment else []
        current = ""
        for token in _tokens(code):
            candidate = f"{current} {token}" if current else token
            if current and len(candidate) + 2 > width:
                lines.append(current + " \\")
                current = indent + token
            else:
                current = candidate
        if current:
            lines.append(current)
    return lines


def _split_comment(line: str) -> tuple[str, str]:
    """A shell line's command and its trailing `# comment` (outside quotes), each stripped."""
    quote: str | None = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].strip(), line[index + 1 :].strip()
    return line.strip(), ""


def _tokens(code: str) -> list[str]:
    """The command's words exactly as written (quotes kept), split at unquoted spaces."""
    tokens: list[str] = []
    current, quote = "", None
    for char in code:
        if quote:
            quote = None if char == quote else quote
            current += char
        elif char in "'\"":
            quote = char
            current += char
        elif char.isspace():
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    if current:
        tokens.append(current)
    return tokens


def print_command(
    console: Console, command: str, label: str | None = None, margin: str = ""
) -> None:
    """A command to copy, on lines of its own (after `label`, if any), never cut; `margin`
    indents every line (a shell ignores it)."""
    if label:
        print_wrapped(console, label)
    for line in command_lines(command.strip(), console.width - len(margin)):
        console.print(margin + line, markup=False, highlight=False, soft_wrap=True)
