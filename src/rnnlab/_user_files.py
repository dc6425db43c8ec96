"""Reading the YAML files a user hands to rnnlab (run configs, sweep files).

Every way such a file can be unusable (missing, a directory, unreadable, not UTF-8, not
YAML) is one ``ConfigError`` line naming the file, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


def read_yaml(path: str | Path, kind: str) -> Any:
    """The parsed YAML document in ``path`` (``kind`` names it in errors: "config file" ...)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {kind} not found" + (" (it is a directory)" if path.is_dir() else ""))
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the {kind} ({e.strerror or e.__class__.__name__})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: the {kind} is not UTF-8 text (byte {e.start})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: the {kind} is not valid YAML{line} ({getattr(e, 'problem', None) or e.__class__.__name__})") from None
