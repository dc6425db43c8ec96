"""MkDocs hook: tables of the registries, built from the code at each ``mkdocs build``.

A page that holds ``<!-- registry: tasks -->`` (or ``models``, ``studies``,
``sweep-analyses``, ``task-gallery``) gets a table of every registered entry with its description and paper,
each name linked to the object's documentation by an autorefs link. A registered entry whose
module no page renders is then a broken reference, which fails ``mkdocs build --strict``: a
new task, model, study or sweep analysis cannot be left out of the docs.
"""

from __future__ import annotations

import re

_MARK = re.compile(r"<!-- registry: ([\w-]+) -->")


def _ref(name: str, obj) -> str:
    """An autorefs link to ``obj``, or to its module where ``obj`` is private (not rendered)."""
    target = obj.__module__ if obj.__qualname__.startswith("_") else f"{obj.__module__}.{obj.__qualname__}"
    return f"[`{name}`][{target}]"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _tasks() -> str:
    from rnnlab import tasks

    rows = [f"| {_ref(n, c)} | {_cell(c.description)} | {_cell(c.paper)} |"
            for n, c in sorted(tasks.REGISTRY.items())]
    return "| task | what it asks | paper |\n|---|---|---|\n" + "\n".join(rows)


def _models() -> str:
    from rnnlab import models

    rows = [f"| {_ref(n, c)} | {_cell(c.description)} | {_cell(c.paper)} |"
            for n, c in sorted(models.REGISTRY.items())]
    return "| model | what it is | paper |\n|---|---|---|\n" + "\n".join(rows)


def _studies() -> str:
    import importlib

    from rnnlab import studies

    rows = []
    for n in studies.names():
        s = studies.get(n)
        module = importlib.import_module(f"rnnlab.studies.{n}")
        rows.append(f"| [`{n}`][{module.__name__}] | {_cell(s.paper)} | {_cell(s.summary)} |")
    return "| study | paper | what it tests |\n|---|---|---|\n" + "\n".join(rows)


def _sweep_analyses() -> str:
    from rnnlab.sweep.analyses import ANALYSES

    rows = []
    for n, fn in ANALYSES.items():
        first = (fn.__doc__ or "").strip().split("\n\n")[0]
        rows.append(f"| {_ref(n, fn)} | {_cell(first)} |")
    return "| analysis | what it measures |\n|---|---|\n" + "\n".join(rows)


def _task_gallery() -> str:
    """Every registered task's example figure (``docs/gallery.py`` draws them; a task without
    one is a missing image, which the strict build reports). The NeuroGym bridge is left out:
    it is registered only where NeuroGym is installed, and needs an environment id."""
    from rnnlab import tasks

    return "\n\n".join(f"### `{n}`\n\n![{n}](gallery/task-{n}.png)" for n in tasks.names() if n != "neurogym")


_TABLES = {"task-gallery": _task_gallery, "tasks": _tasks, "models": _models, "studies": _studies, "sweep-analyses": _sweep_analyses}


def on_page_markdown(markdown: str, **kwargs) -> str:
    def table(m: re.Match) -> str:
        if m.group(1) not in _TABLES:
            raise ValueError(f"docs/hooks.py: unknown registry '{m.group(1)}'; valid: {', '.join(_TABLES)}")
        return _TABLES[m.group(1)]()

    return _MARK.sub(table, markdown)
