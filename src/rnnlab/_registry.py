"""Helpers shared by the task and model registries: one-line, field-naming errors."""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ValidationError


def unknown_name_error(kind: str, name: str, valid: list[str]) -> ValueError:
    """``ValueError`` for an unknown ``kind`` name, listing the valid choices."""
    hint = difflib.get_close_matches(name, valid, n=1)
    extra = f" (did you mean '{hint[0]}'?)" if hint else ""
    return ValueError(f"unknown {kind} '{name}'{extra}; valid {kind}s: {', '.join(valid)}")


def format_validation_error(err: ValidationError, where: str, schema: type[BaseModel] | None = None) -> str:
    """Turn a Pydantic error into one line naming each bad field and what was expected."""
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(value)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown parameter"
            if schema is not None:
                msg += f"; valid parameters: {', '.join(schema.model_fields)}"
        elif "input" in e and e["type"] != "missing":
            msg += f" (got {e['input']!r})"
        parts.append(f"{loc}: {msg}")
    return f"{where}: " + "; ".join(parts)
