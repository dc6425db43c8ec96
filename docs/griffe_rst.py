"""A griffe extension: read rnnlab's reST-flavoured docstrings as Markdown.

The docstrings introduce literal blocks with a trailing ``::`` (reST) and start and end lists
without blank lines. Markdown shows the ``::`` as written, folds such a list into the
paragraph above it and the text after it into its last item, so before the docstring is
rendered this turns a trailing ``::`` into ``:`` and puts a blank line before a list that
directly follows text and after one that text directly follows. The docstring text in
the source is unchanged.
"""

from __future__ import annotations

import re

import griffe

_ITEM = re.compile(r"^\s*(?:[*-]|\d+\.)\s+\S")


def markdown_from_rst(text: str) -> str:
    """The docstring ``text`` with reST literal-block markers and list spacing made Markdown."""
    out: list[str] = []
    marker = None  # the indentation of the current list's items, None outside a list
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if _ITEM.match(line):
            if out and out[-1].strip() and marker is None:
                out.append("")
            marker = indent if marker is None else min(marker, indent)
        elif not stripped:
            marker = None
        elif marker is not None and indent <= marker:
            out.append("")  # text back at the items' indentation ends the list
            marker = None
        if stripped.endswith("::") and not stripped.startswith("::"):
            line = line[: line.rindex("::")] + ":"
        elif stripped == "::":
            line = ""
        out.append(line)
    return "\n".join(out)


class RstToMarkdown(griffe.Extension):
    """Rewrite every loaded object's docstring with ``markdown_from_rst``."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_from_rst(obj.docstring.value)
