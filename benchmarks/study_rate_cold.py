"""The 200-network degeneracy study's end-to-end rate on a first run: ``study_rate.py`` with
JAX's persistent compilation cache switched off (``RNNLAB_NO_CACHE=1``, set before JAX is
imported here and inherited by the sweep's spawned workers), so that every training, analysis
and page program is compiled during the run, as on a machine that never ran rnnlab.

``study_rate.py`` measures the run as a user's next study finds it (programs another run
compiled are read from the cache); the difference between the two rows is the compile time
the cache saves. Rows ``study_rate_cold.*``, labelled "compilation cache off".

    python benchmarks/study_rate_cold.py [--workers K] [--quick]
"""

from __future__ import annotations

import os

os.environ["RNNLAB_NO_CACHE"] = "1"  # before anything imports JAX

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

import _report  # noqa: E402
import study_rate  # noqa: E402


def run(quick: bool = False, sweep: Path = study_rate.SWEEP, workers: int | None = None) -> list[dict]:
    """Rows ``study_rate_cold.rate`` and ``study_rate_cold.<stage>`` (see ``study_rate.run``)."""
    return study_rate.run(quick, sweep, workers, prefix="study_rate_cold", note=", compilation cache off")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", type=Path, default=study_rate.SWEEP, help="sweep file (default: the degeneracy study)")
    ap.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
