"""The HTML page that gathers a run's (or a demo's) figures and summary."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from ..store._atomic import write_text_atomic

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
figure{display:inline-block;margin:0 1em 1em 0}img{max-width:100%;border:1px solid #eee}
figcaption{font-size:90%;color:#555}
"""


def write_page(path: Path, title: str, sections: list[dict[str, Any]]) -> Path:
    """Write ``path`` with one section per entry: ``{heading, summary: dict, figures: [(png, caption)]}``.

    Figure paths are written relative to the page's folder.
    """
    path = Path(path)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec['heading'])}</h2>")
        if sec.get("summary"):
            rows = "".join(
                f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                for k, v in sec["summary"].items()
            )
            parts.append(f"<table>{rows}</table>")
        for png, caption in sec.get("figures", []):
            rel = os.path.relpath(Path(png).resolve(), path.parent.resolve())
            parts.append(
                f"<figure><img src='{html.escape(str(rel))}' alt='{html.escape(caption)}'>"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    write_text_atomic(path, "\n".join(parts))
    return path


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return str(v)
