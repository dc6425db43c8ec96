"""``rnnlab export RUN_ID --format netcdf|nwb|csv --file PATH``: a stored run's simulated
activity on fresh trials of its task, as a file (``rnnlab.export``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError
from ._choices import choice

Format = choice("Format", ("netcdf", "nwb", "csv"))


def export(
    run_id: str = typer.Argument(..., help="run id (or path to a run directory)"),
    format_: Format = typer.Option("netcdf", "--format", help="netcdf (netCDF-3, SciPy backend), nwb or csv"),
    file: Path = typer.Option(..., "--file", help="file to write (replaced if it exists)"),
    trials: int = typer.Option(64, help="trials simulated (every member of an ensemble on the same trials)"),
    seed: int = typer.Option(0, help="PRNG seed of the trials and of the model's noise, 0 <= seed < 2**32"),
    out: Optional[Path] = typer.Option(None, help="runs folder (default $RNNLAB_RUNS or ./runs)"),
) -> None:
    """Simulate a run's trained network on fresh trials of its task and write activity, outputs,
    inputs, targets, mask and per-trial conditions: netcdf (an xarray Dataset, dims
    [member,] trial x time x unit), nwb (Neurodata Without Borders; needs `pip install
    'rnnlab[nwb]'`) or csv (one row per [member,] trial and step). time[t] = (t + 1) * dt."""
    from .. import export as ex

    format_ = format_.value
    if trials < 1:
        raise ConfigError(f"--trials: must be a positive integer (got {trials})")
    if not 0 <= seed < 2**32:
        raise ConfigError(f"--seed: must be 0 <= seed < 2**32 (got {seed})")
    if not file.parent.is_dir():
        raise ConfigError(f"--file: folder {file.parent} does not exist")
    if format_ == "nwb":
        ex.nwb._pynwb()  # before simulating: a missing pynwb is a one-line error at once
    ds = ex.run_activity(run_id, trials, seed, root=out)
    try:
        if format_ == "netcdf":
            ex.to_netcdf(ds, file)
        elif format_ == "nwb":
            ex.to_nwb(ds, file)
        else:
            ex.activity_table(ds).to_csv(file, index=False)
    except OSError as e:
        raise ConfigError(f"--file: cannot write {file} ({e.strerror or e.__class__.__name__})") from None
    sizes = " x ".join(f"{ds.sizes[d]} {d}s" for d in ("member", "trial", "time", "unit") if d in ds.sizes)
    typer.echo(f"wrote {file} ({format_}; {sizes}; time in {ds.attrs['time_units']}, dt = {ds.attrs['dt']:g})")
