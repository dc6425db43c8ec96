"""Helpers shared by the task and model registries: one-line, field-naming errors."""

from __future__ import annotations

import difflib
import typing

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
            owner = _nested_schema(schema, e["loc"][:-1])
            if owner is not None:
                msg += f"; valid parameters: {', '.join(owner.model_fields)}"
        elif "input" in e and e["type"] != "missing":
            msg += f" (got {e['input']!r})"
        parts.append(f"{loc}: {msg}")
    return f"{where}: " + "; ".join(parts)


def _nested_schema(schema: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The (sub-)schema that owns the field at ``loc``, following nested model fields."""
    for part in loc:
        if schema is None or part not in schema.model_fields:
            return None
        ann = schema.model_fields[part].annotation
        candidates = [ann, *typing.get_args(ann)]
        schema = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return schema
