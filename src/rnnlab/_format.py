"""Numbers as people read them: one helper for the command line, tables and report pages.

A float is shown to 4 significant digits (``0.0069169155322015285`` -> ``0.006917``,
``6.283185307179586`` -> ``6.283``), integers in full, NaN and infinities by name; a
structure (dict, list) is formatted leaf by leaf. Machine output (``--json``, CSV files)
keeps full precision and does not go through here.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["num", "readable"]


def num(x: Any, digits: int = 4) -> str:
    """``x`` as text: floats to ``digits`` significant digits, everything else with ``str``."""
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Real):
        x = float(x)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return f"{x:.{digits}g}"
    return str(x)


def readable(obj: Any, digits: int = 4) -> Any:
    """``obj`` with every float leaf rounded to ``digits`` significant digits (for display,
    e.g. a summary printed as YAML or JSON for a person)."""
    if isinstance(obj, dict):
        return {k: readable(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [readable(v, digits) for v in obj]
    if isinstance(obj, numbers.Real) and not isinstance(obj, (bool, numbers.Integral)):
        x = float(obj)
        return x if not math.isfinite(x) else float(f"{x:.{digits}g}")
    return obj
