"""Validated training settings (the ``train:`` block of a run config)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_INT32 = 2**31  # counters and sizes are int32 inside the jitted program


class CurriculumConfig(BaseModel):
    """Curriculum over the memory depth N of a levelled task (``nparity``, ``ndms``).

    ``single``: train one N; when its accuracy passes ``threshold`` move to N + 1 and drop
    the old head. ``multi``: keep every head 1..N; add N + 1 when the mean over the active
    heads *and* the newest head pass (Khajehabdollahi, Zeraati et al. 2024).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    kind: Literal["single", "multi"] = Field("multi", description="single-head or multi-head curriculum")
    start: int = Field(2, ge=1, lt=_INT32, description="first N")
    max_n: int = Field(10, ge=1, lt=_INT32, description="last N; a member that passes it is done")
    threshold: float = Field(0.98, gt=0, le=1, description="accuracy needed to move on")


class ContinualConfig(BaseModel):
    """Continual learning (``rnnlab.continual``): the run's task must be a ``multitask``; its
    sub-tasks are learned one after another, one stage each with ``train.steps`` steps, in the
    shared input/output layout (rule input included). ``method``: ``finetune`` (plain training
    of each stage), ``ewc`` (Kirkpatrick et al. 2017), ``projection`` (gradient projection onto
    the orthogonal complement of earlier tasks' activity subspaces, found by SVD; OWM / GPM /
    Duncker et al. 2020) or ``hlop`` (the subspaces learned by Hebbian/anti-Hebbian lateral
    weights; Xiao et al. 2024).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    method: Literal["finetune", "ewc", "projection", "hlop"] = Field("finetune", description="continual-learning method")
    ewc_lambda: float = Field(1000.0, ge=0, description="EWC: penalty strength λ of λ/2 Σ F (θ − θ*)²")
    fisher_trials: int = Field(256, gt=0, lt=_INT32, description="EWC: trials whose sampled log-likelihood gradients "
                               "estimate the diagonal Fisher of a finished stage")
    activity_trials: int = Field(128, gt=0, lt=_INT32, description="projection/hlop: trials whose activity spans a "
                                 "finished stage's subspaces")
    threshold: float = Field(0.99, gt=0, lt=1, description="projection: fraction of each population's activity "
                             "energy the protected subspace keeps (GPM criterion)")
    post: bool = Field(False, description="projection/hlop: also project the recurrent and input weights' gradients "
                       "on the postsynaptic side, off the earlier tasks' drive subspace (Duncker et al. 2020)")
    hlop_fraction: float = Field(0.125, gt=0, le=1, description="hlop: lateral (subspace) neurons added per stage, "
                                 "as a fraction of each population's size")
    hlop_iters: int = Field(1000, gt=0, lt=_INT32, description="hlop: Hebbian updates per stage (minibatches of activity)")
    hlop_lr: float = Field(0.5, gt=0, description="hlop: Hebbian learning rate")


class TrainConfig(BaseModel):
    """Settings of ``rnnlab.train.train``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    steps: int = Field(2000, gt=0, lt=_INT32, description="step budget (per member)")
    batch_size: int = Field(64, gt=0, lt=_INT32, description="trials per step")
    optimizer: Literal["adam", "adamw", "sgd"] = Field("adam", description="Optax optimiser")
    lr: float = Field(1e-3, gt=0, description="learning rate")
    lr_schedule: Literal["constant", "cosine"] = Field(
        "constant", description="constant learning rate, or cosine decay over the step budget"
    )
    lr_final: float = Field(0.01, ge=0, le=1, description="cosine schedule: final learning rate as a fraction of lr")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD momentum")
    nesterov: bool = Field(False, description="Nesterov momentum for SGD")
    weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay")
    clip: float | None = Field(1.0, gt=0, description="global gradient-norm clip (None: off)")
    eval_every: int = Field(100, gt=0, lt=_INT32, description="steps between evaluations")
    eval_batch_size: int = Field(256, gt=0, lt=_INT32, description="trials per evaluation batch")
    threshold: float | None = Field(None, description="stop a member when its metric reaches this")
    patience: int = Field(0, ge=0, lt=_INT32, description="extra evaluations after reaching the threshold")
    ensemble: int | None = Field(None, gt=0, lt=_INT32, description="train this many networks as one program")
    curriculum: CurriculumConfig | None = None
    remat: bool | None = Field(
        None,
        description="recompute each step in the backward pass instead of storing its intermediates "
        "(less memory; faster for ensembles on CPU). None: on for ensembles, and for single networks "
        "of the models where it is faster (leaky_rnn, gru)",
    )
    solver: Literal["sequential", "parallel"] = Field(
        "sequential", description="run the network by lax.scan, or by the parallel-in-time Newton solver (rnnlab.parallel)"
    )
    parallel_max_iter: int = Field(100, ge=1, lt=_INT32, description="parallel solver: Newton iterations before the sequential fallback")
    parallel_jacobian: Literal["auto", "dense", "diagonal"] = Field(
        "auto", description="parallel solver: full Jacobians (DEER) or their diagonal (quasi-DEER)"
    )
    objective: dict[str, Any] | None = Field(
        None,
        description="the training objective by name with its parameters ({name: sinkhorn, blur: 0.2}; "
        "rnnlab.objectives); None: the task's own per-step loss",
    )

    continual: ContinualConfig | None = Field(
        None, description="learn the sub-tasks of a multitask one after another (rnnlab.continual); None: off")

    def uses_remat(self, model: Any) -> bool:
        """Whether training rematerialises each step (``remat``; see ``rnnlab.models``): the
        setting, or by default on for ensembles and for single networks of the models whose
        config sets ``remat_single`` (``model``: a model config or a built model)."""
        if self.remat is not None:
            return self.remat
        cfg = getattr(model, "cfg", model)
        return self.ensemble is not None or bool(getattr(cfg, "remat_single", False))

    @field_validator("objective")
    @classmethod
    def _known_objective(cls, spec):
        if spec is None:
            return None
        from ..objectives import validate_spec

        return validate_spec(spec)
