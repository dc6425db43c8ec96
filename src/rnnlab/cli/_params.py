"""Parsing ``KEY=VALUE`` command-line parameters (values read as YAML scalars)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError


def parse_params(items: list[str] | None, option: str) -> dict[str, Any]:
    """``["n=3", "heads=multi"]`` -> ``{"n": 3, "heads": "multi"}``."""
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"{option}: expected KEY=VALUE, got '{item}'")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = yaml.safe_load(v)
        except yaml.YAMLError as e:
            where = getattr(e, "problem", None) or e.__class__.__name__
            raise ConfigError(f"{option}: {k.strip()}: value '{v}' is not a YAML value ({where})") from None
    return out
