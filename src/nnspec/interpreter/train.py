"""Training: mini-batch gradient descent over NumPy arrays, seeded and resumable.

Sits on top of `Model` (one planned forward+backward per batch) and `optimizers`.
The data is checked once, up front; the loop then runs the planned steps without
per-batch checks. After each completed epoch the params are snapshotted, so a
non-finite loss or Ctrl-C leaves the model at the last completed epoch.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnspec import arguments
from nnspec.arguments import number, optional, whole
from nnspec.autodiff import training_roles
from nnspec.interpreter.inputs import prepare
from nnspec.interpreter.metrics import METRICS, Evaluator
from nnspec.interpreter.model import Model
from nnspec.interpreter.optimizers import Schedule, make_optimizer, make_schedule
from nnspec.interpreter.plan import RunPlan
from nnspec.interpreter.progress import Progress
from nnspec.interpreter.stopping import EarlyStopping
from nnspec.interpreter.stream import DEFAULT_BUFFER_ROWS, Partition, PartitionStream
from nnspec.interpreter.threads import blas_threads, check
from nnspec.ir import Graph, Input, Training
from nnspec.optimizers import SettingError
from nnspec.portable import Portable
from nnspec.spec.learnable import NothingToLearnWarning, learning_problems


@dataclass
class History:
    """Per-epoch mean loss and metrics; `stopped` says why training ended early."""

    loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)  # val_<name> for validation
    stopped: str | None = None  # None, "interrupted", "non-finite loss" or "early stopping"
    model: Model | None = field(default=None, repr=False)
    val_loss: list[float] = field(default_factory=list)  # empty without validation data
    best_epoch: int | None = None  # early stopping's best epoch (its params are restored)
    learning_rate: list[float] = field(default_factory=list)  # per epoch, with a schedule

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.loss)

    def keep(self, epochs: int) -> None:
        """Drop what was recorded after the first `epochs` epochs: an interrupt that
        lands while an epoch is being recorded leaves no half-recorded epoch."""
        for values in (self.loss, self.val_loss, self.learning_rate, *self.metrics.values()):
            del values[epochs:]

    def last(self) -> dict[str, float]:
        """The last epoch's values by name (``loss``, ``val_loss``, metrics)."""
        return {k: v for k, v in self.rows()[-1].items() if k != "epoch"} if self.loss else {}

    def rows(self) -> list[dict[str, float]]:
        return [
            {
                "epoch": k + 1,
                "loss": loss,
                **({"val_loss": self.val_loss[k]} if self.val_loss else {}),
                **{m: v[k] for m, v in self.metrics.items()},
                **({"learning_rate": self.learning_rate[k]} if self.learning_rate else {}),
            }
            for k, loss in enumerate(self.loss)
        ]

    def to_json(self) -> str:
        payload: dict[str, Any] = {"epochs": self.epochs, "stopped": self.stopped}
        if self.best_epoch is not None:
            payload["best_epoch"] = self.best_epoch
        payload["history"] = self.rows()
        return json.dumps(payload, indent=2) + "\n"

    def to_csv(self) -> str:
        out = io.StringIO()
        names = [
            "epoch",
            "loss",
            *(["val_loss"] if self.val_loss else []),
            *self.metrics,
            *(["learning_rate"] if self.learning_rate else []),
        ]
        writer = csv.DictWriter(out, names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: repr(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in self.rows()
        )
        return out.getvalue()


SPLIT_STREAM = 0x5E1  # second seed word of validation_split's shuffle


class TrainingError(Portable, RuntimeError):
    """Training stopped (non-finite loss); the model keeps the last completed epoch."""

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


def train(
    model_or_graph: Model | Graph,
    X: Any = None,
    y: Any = None,
    *,
    data: Iterable[Partition] | None = None,
    shuffle_buffer: int = DEFAULT_BUFFER_ROWS,
    epochs: int | None = None,
    learning_rate: float | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    optimizer: str | Mapping[str, Any] | None = None,
    metrics: Sequence[str] | None = None,
    quiet: bool | None = None,
    validation_data: Any = None,
    validation_split: float | None = None,
    early_stopping: Mapping[str, Any] | EarlyStopping | bool | None = None,
    schedule: str | Mapping[str, Any] | bool | None = None,
    threads: int | None = None,
) -> History:
    """Train on `X` (one array for a one-input graph, or a dict by input name) and `y`.

    Settings default to the document's ``training`` section. `seed` seeds the
    shuffling and, when a `Graph` is given, the param initialisation too, so the
    same seed gives bit-identical weights. `quiet` defaults to "no progress bar
    unless standard error is a terminal". Returns the `History`; the trained
    model is ``history.model``.

    Validation (see docs/training.md): `validation_data` is ``(X, y)`` or a dict like
    `X`; `validation_split` holds out that share of the rows instead (a seeded shuffle;
    in-memory data only). After each epoch the held-out loss and metrics are recorded
    as ``val_loss`` and ``val_<metric>``. `early_stopping` (`EarlyStopping` or its
    settings) stops when the monitored value stops improving and restores the best
    epoch's params. `schedule` (a kind of `nnspec.optimizers.SCHEDULES` or its
    settings) sets each epoch's learning rate, recorded as ``history.learning_rate``.
    The document's ``validation_split``, ``early_stopping`` and ``schedule`` apply unless
    overridden: given `validation_data` replaces the document's split, an
    `early_stopping` mapping is merged over the document's settings, a `schedule`
    replaces the document's, and False switches either off.

    Raises `TrainingError` on a non-finite loss,
    ValueError for data that does not fit the graph and `SettingError` (a ValueError
    naming the setting) for a bad setting. Warns (`NothingToLearnWarning`,
    NN905) before the first epoch when no gradient can reach a trainable param.

    Instead of `X` and `y`, `data` may list partitions (mappings of arrays by name,
    or callables loading one) that are streamed through a shuffle buffer of
    `shuffle_buffer` rows, so the data never has to fit in memory (see
    `nnspec.interpreter.stream`; ``nnspec.dask.partitions`` makes them from a Dask
    collection or a set of files).

    `threads` (the BLAS thread count; default: the model's, see `Model`) holds
    for this run only.
    """
    epochs = optional(whole, "epochs", epochs, 1)
    batch_size = optional(whole, "batch_size", batch_size, 1)
    seed = optional(arguments.seed, "seed", seed)
    shuffle_buffer = whole("shuffle_buffer", shuffle_buffer, 1)
    learning_rate = optional(number, "learning_rate", learning_rate, above=0.0)
    threads = check(threads)
    model = (
        model_or_graph if isinstance(model_or_graph, Model) else Model(model_or_graph, seed=seed)
    )
    training = training_section(model)
    for problem in learning_problems(model.graph):
        warnings.warn(f"{problem.code} {problem.message}", NothingToLearnWarning, stacklevel=2)
    plan = model.gradient_plan(outputs=(training.output,))
    target = target_name(model, plan.feeds)
    if validation_split is None and validation_data is None:
        validation_split = training.validation_split
        split_name = "training.validation_split"
    else:
        split_name = "validation_split"
    if data is None:
        arrays, held_out = _validation(
            model,
            (plan.feeds, target),
            training_arrays(model, plan.feeds, target, X, y),
            validation_data,
            (validation_split, split_name),
            training.seed if seed is None else seed,
        )
        rows: int | None = len(next(iter(arrays.values())))
    elif validation_split is not None:
        raise SettingError(
            split_name, "{setting} needs in-memory data; give validation data instead"
        )
    elif X is not None or y is not None:
        raise ValueError("give the examples as X (and y) or as data=partitions, not both")
    else:
        stream = PartitionStream(
            data,
            lambda part: training_arrays(model, plan.feeds, target, part, None),
            shuffle_buffer,
        )
        rows = None
        held_out = _validation(
            model, (plan.feeds, target), {}, validation_data, (None, split_name), training.seed
        )[1]
    from_logits = bool(training.loss.get("from_logits", False))
    wanted = tuple(metrics if metrics is not None else training.metrics)
    for name in wanted:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; use {', '.join(METRICS)}")
        if target is None:
            raise ValueError(f"metric {name!r} needs a training target, and this loss has none")
    spec = training.optimizer if optimizer is None else optimizer
    opt = make_optimizer({"name": spec} if isinstance(spec, str) else spec, learning_rate)
    batch = batch_size or training.batch_size or rows
    if batch is None:
        raise ValueError("streamed data needs a batch size (batch_size= or training.batch_size)")
    batch = min(batch, rows or batch)
    rng = np.random.default_rng(training.seed if seed is None else seed)
    total = training.epochs if epochs is None else epochs
    show = not quiet if quiet is not None else sys.stderr.isatty()
    progress = Progress(total) if show else None

    step = TrainStep(
        model, opt, plan, threads=threads, seed=training.seed if seed is None else seed
    )
    validate = Evaluator(model, wanted, target) if held_out is not None else None
    shown = [*wanted, *(f"val_{m}" for m in wanted)] if validate else wanted
    history = History(metrics={m: [] for m in shown}, model=model)
    stopper = _stopper(training, early_stopping, validate is not None, shown)
    scheduled = _schedule(training, schedule, total)
    base_rate = opt.learning_rate
    params = model.params
    # (epochs recorded in full, the params after them): one assignment, so an interrupt
    # never finds the history and the params of different epochs
    kept = (0, {k: v.copy() for k, v in params.items()})
    out_slot = plan.out_slots[0]
    try:
        for epoch in range(1, total + 1):
            batches = (
                _array_batches(arrays, batch, rng) if data is None else stream.batches(rng, batch)
            )
            loss_sum, seen, sums = 0.0, 0, {m: [0.0, 0] for m in wanted}
            if scheduled is not None:
                opt.settings["learning_rate"] = scheduled.rate(base_rate, epoch - 1)
            # the thread count is set once per epoch, not per step (each set and
            # restore costs, and a BLAS woken every step competes on a busy machine)
            with blas_threads(step.setting(), batch * model.weights):
                for feed in batches:
                    loss, env = step(feed)
                    if not np.isfinite(loss):
                        _restore(params, kept[1])
                        history.stopped = "non-finite loss"
                        raise TrainingError(
                            f"epoch {epoch}: the loss became {float(loss)} (not finite); the "
                            f"model keeps epoch {epoch - 1}. Try a smaller learning rate or "
                            "scaled data.",
                            history,
                        )
                    count = len(next(iter(feed.values())))
                    loss_sum += float(loss) * count
                    seen += count
                    for m in wanted:  # env lives until the next step: read it now
                        assert target is not None  # metrics need a target (checked above)
                        s, n = METRICS[m](env[out_slot], feed[target], from_logits)
                        sums[m][0] += s
                        sums[m][1] += n
            snapshot = {k: v.copy() for k, v in params.items()}
            history.loss.append(loss_sum / seen)
            if scheduled is not None:
                history.learning_rate.append(opt.learning_rate)
            for m in wanted:
                history.metrics[m].append(sums[m][0] / max(sums[m][1], 1))
            if validate is not None:
                assert held_out is not None
                scores = validate(held_out)  # one batch: equals Model.evaluate
                history.val_loss.append(scores["loss"])
                for m in wanted:
                    history.metrics[f"val_{m}"].append(scores[m])
            kept = (epoch, snapshot)
            if progress:
                progress.update(epoch, history.last())
            watched = history.last()[stopper.monitor or "loss"] if stopper is not None else 0.0
            if stopper is not None and stopper.update(epoch, watched, params):
                history.stopped = "early stopping"
                break
    except KeyboardInterrupt:
        history.keep(kept[0])
        _restore(params, kept[1])
        history.stopped = "interrupted"
    finally:
        if progress:
            progress.close()
        if plan.workspaces is not None:  # the steps' activations: not kept past training
            plan.workspaces.release()
    if stopper is not None and stopper.best_epoch:
        history.best_epoch = stopper.best_epoch
        if stopper.restore_best and stopper.best_params is not None:
            _restore(params, stopper.best_params)
    return history


def _stopper(
    training: Training,
    given: Mapping[str, Any] | EarlyStopping | bool | None,
    validated: bool,
    recorded: Sequence[str],
) -> EarlyStopping | None:
    """Early stopping from the document's section and the caller's `given` settings."""
    settings = training.early_stopping
    if given is False or (given is None and settings is None):
        return None
    if isinstance(given, EarlyStopping):
        stopper = EarlyStopping.from_settings(given)
    elif given is None or given is True:
        stopper = EarlyStopping.from_settings(settings or {}, "training.early_stopping")
    else:
        stopper = EarlyStopping.from_settings({**(settings or {}), **given})
    stopper.watching("val_loss" if validated else "loss")
    known = ["loss", *(["val_loss"] if validated else []), *recorded]
    if stopper.monitor not in known:
        raise SettingError(
            f"{stopper.setting}.monitor",
            f"{{setting}} {stopper.monitor!r} is not recorded by this training; choose one of "
            f"{', '.join(known)}" + ("" if validated else " (val_* values need validation data)"),
        )
    return stopper


def _schedule(
    training: Training, given: str | Mapping[str, Any] | bool | None, epochs: int
) -> Schedule | None:
    """The learning-rate schedule: the caller's `given` one, else the document's."""
    if given is False:
        return None
    if given is None or given is True:
        return make_schedule(training.schedule, epochs, "training.schedule")
    return make_schedule(given, epochs)


def _array_batches(
    arrays: Mapping[str, np.ndarray], batch: int, rng: np.random.Generator
) -> Iterator[dict[str, np.ndarray]]:
    """One epoch of mini-batches of in-memory arrays, in an order drawn from `rng`."""
    rows = len(next(iter(arrays.values())))
    order = rng.permutation(rows) if batch < rows else None
    for start in range(0, rows, batch):
        pick = slice(start, start + batch) if order is None else order[start : start + batch]
        yield {k: v[pick] for k, v in arrays.items()}


class TrainStep:
    """One mini-batch step of `train`: forward, loss, backward, optimizer update.

    Call it with arrays already checked by `inputs.prepare` (``train`` checks the
    whole data set once); it returns (loss, environment). A non-finite loss is
    returned without updating the params, so the caller can stop cleanly.

    The loss is a fresh array. The environment is valid only until the next step on
    the same thread (with the same input sizes; or any other run of this plan there):
    its values live in the plan's per-thread step workspace, which that step
    overwrites, so copy what you keep (``train`` reduces each batch's outputs to its
    metrics before the next step). Steps on other threads use buffers of their own.
    Dropout draws the masks of step `steps` (0 first, one more per call) for `seed`
    (default: the training seed), as the compiled module's ``fit`` does.
    """

    def __init__(
        self,
        model: Model,
        optimizer: Any,
        plan: RunPlan | None = None,
        *,
        threads: int | None = None,
        seed: int | None = None,
    ):
        self.model = model
        self.optimizer = optimizer
        self.plan = plan or model.gradient_plan(outputs=(training_section(model).output,))
        self.threads = check(threads)
        """The BLAS thread count (None: the model's ``threads``)."""
        self.seed = model.stream(0, seed)[0]
        self.steps = 0
        """Steps taken: the next step's dropout masks are those of step `steps`."""

    def __call__(self, feed: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[Any]]:
        model, plan = self.model, self.plan
        env = model.environment(plan, feed, False, (self.seed, self.steps))
        self.steps += 1
        with blas_threads(self.setting(), model.work(env, plan)):
            loss, grads, env = model.loss_and_gradients(plan, env)
        if np.isfinite(loss):
            self.optimizer.step(model.params, grads, model.own_gradients(plan, grads))
        return loss, env

    def setting(self) -> int | None:
        """The BLAS thread setting of a step: `threads`, else the model's (None: auto).

        Inside an enclosing `blas_threads` (`train` holds one per epoch) a step that
        chooses the same count sets and restores nothing."""
        return self.model.threads if self.threads is None else self.threads


def training_section(model: Model) -> Training:
    """The graph's training section, which everything here needs."""
    training = model.graph.training
    if training is None:
        raise ValueError(
            f"graph {model.graph.name!r} has no 'training' section; add one with a loss"
        )
    return training


def _restore(params: Any, snapshot: Mapping[str, np.ndarray]) -> None:
    for name, value in snapshot.items():
        params[name] = value


def training_arrays(
    model: Model, feeds: Sequence[Input], target: str | None, X: Any, y: Any
) -> dict[str, np.ndarray]:
    """Named, checked arrays that all share the first (example) axis."""
    features = [f.name for f in model.graph.inputs if f in feeds and f.name != target]
    if isinstance(X, Mapping):
        arrays = dict(X)
    elif len(features) == 1:
        arrays = {features[0]: X}
    else:
        raise ValueError(
            f"the graph has {len(features)} data inputs ({', '.join(features)}); "
            "pass X as a dict by name"
        )
    if y is not None:
        if target is None:
            raise ValueError("y was given, but the training loss takes no target; leave y out")
        arrays[target] = y
    arrays = prepare(feeds, arrays, model.layout.feeds)
    lengths = {name: (a.shape[0] if a.ndim else None) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1 or None in lengths.values():
        shown = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise ValueError(f"every array needs the same number of examples along axis 0, got {shown}")
    if next(iter(lengths.values())) == 0:
        raise ValueError("no training examples (the arrays are empty)")
    for name, a in arrays.items():
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ValueError(f"input {name!r} holds NaN or infinite values; clean the data first")
    return arrays


def _validation(
    model: Model,
    roles: tuple[Sequence[Input], str | None],
    data: dict[str, np.ndarray],
    validation_data: Any,
    named_split: tuple[float | None, str],
    seed: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """(training arrays, checked held-out arrays or None); `roles` = (feeds, target);
    `named_split` = (the split, how errors name it)."""
    split, name = named_split
    if split is not None and validation_data is not None:
        raise SettingError(name, "give validation data or {setting}, not both")
    if validation_data is not None:
        pair = isinstance(validation_data, tuple | list) and len(validation_data) == 2
        given = validation_data if pair else (validation_data, None)
        try:
            return data, training_arrays(model, *roles, *given)
        except ValueError as exc:
            raise ValueError(f"validation data: {exc}") from None
    if split is None:
        return data, None
    rows = len(next(iter(data.values())))
    if isinstance(split, bool) or not (isinstance(split, int | float) and 0 < split < 1):
        raise SettingError(name, f"{{setting}} must be a share above 0 and below 1, got {split!r}")
    held = round(rows * split)
    if not 0 < held < rows:
        raise SettingError(
            name,
            f"{{setting}} {split} of {rows} rows leaves no rows to "
            f"{'hold out' if held == 0 else 'train on'}; use more data or another split",
        )
    # Its own stream, so a split never changes the batch shuffling of the training rows.
    order = np.random.default_rng([seed, SPLIT_STREAM]).permutation(rows)
    train_rows, held_rows = np.sort(order[: rows - held]), np.sort(order[rows - held :])
    return (
        {k: v[train_rows] for k, v in data.items()},
        {k: v[held_rows] for k, v in data.items()},
    )


def feed_names(model: Model) -> tuple[list[str], str | None]:
    """(data input names, target name) that training reads, for loading data files."""
    feeds = model.gradient_plan(outputs=(training_section(model).output,)).feeds
    target = target_name(model, feeds)
    return [f.name for f in feeds if f.name != target], target


def target_name(model: Model, feeds: Sequence[Input]) -> str | None:
    """The target: the document's declared one, else the one input only the loss reads
    (`nnspec.autodiff.training_roles`, which the generated module's `fit` uses too)."""
    training_section(model)
    return training_roles(model.graph, [f.name for f in feeds])[1]
