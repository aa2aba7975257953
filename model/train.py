"""Train the challenge architecture on any binary labelling of MNIST: counterfactual models and replicas.

The claims suite tests one checkpoint. To see which claims are about *this* network and which would hold
for any network trained on the same labels (or fail for a network trained on other labels), later work
trains replicas of :class:`model.torchnet.ChallengeNet` here, seeded and bitwise reproducible on CPU.

Training: the 60,000 training images as ``uint8 / 255``, shape (N, 1, 28, 28), no normalisation (exactly
what :func:`model.network.activations` feeds the network); dropout 0.2 active (train mode); Adam on
cross-entropy; the learning rate decays linearly to zero over the run (``schedule="linear"``), which makes
the last epoch's weights settle instead of jittering by ±1 pp of agreement from epoch to epoch.

What the default recipe gives — test agreement per seed, time per epoch, the settings tried and the replica
study's 20 seeds — is a measurement, and lives in the README ("Training replicas: what the recipe gives"), where
it is dated; this docstring keeps only the design. Each checkpoint's sidecar records its own test agreement:
check it when a replica must be a good one (the recipe does not guarantee >= 95 % for every seed).

Determinism: with ``torch.use_deterministic_algorithms(True)``, ``torch.manual_seed`` for the initialisation
and dropout, and a separate seeded :class:`torch.Generator` for the shuffling, two runs with the same seed give
bitwise-identical parameters. The result depends on torch's intra-op thread count, so training always runs on
:data:`TRAIN_THREADS` threads, whatever the caller has set (one thread per run also lets two replicas train side
by side on two cores). Bits may still differ across CPU types and torch releases (different kernels); the
sidecar records the torch version.

Checkpoints: :func:`fixtures.checkpoint.ensure_trained` saves a recipe's result as
``<cache_dir>/models/<recipe.name>.pt`` with its sidecar (the data's identity, :data:`TRAIN_VERSION`, the recipe,
the torch version, training time and test agreement) and reuses it while they match.

torch is imported inside functions only (see :mod:`model`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from model.labelling import R_THRESHOLD, band_labels, clue_image, corrected_template, similarity
from model.network import check_images
from model.spec import STATE_SHAPES

if TYPE_CHECKING:  # pragma: no cover
    import torch  # noqa: F401

#: torch intra-op threads used for training: the trained bits depend on it, so it is fixed.
TRAIN_THREADS = 1
#: Bump when a change here changes what a recipe trains; older checkpoints are then retrained.
TRAIN_VERSION = 1
SCHEDULES = ("linear", "constant")
#: The challenge architecture's dropout (model/torchnet.py); a recipe's name mentions only another value.
DEFAULT_DROPOUT = 0.2


class Images(Protocol):
    """The images a recipe trains and is tested on (:class:`fixtures.mnist.MNIST` is one)."""

    @property
    def train_images(self) -> np.ndarray: ...

    @property
    def test_images(self) -> np.ndarray: ...


# ------------------------------------------------------------------------------------------ labellings

#: A labelling: ``(images uint8 (N, 28, 28), template (28, 28) float) -> labels (N,) in {0, 1}``.
Labelling = Callable[[np.ndarray, np.ndarray], np.ndarray]


def band_labelling(images: np.ndarray, template: np.ndarray) -> np.ndarray:
    """The recovered labelling function: class 0 iff ``-17305 < s < -7762`` (see :mod:`model.labelling`)."""
    return band_labels(similarity(images, template)).astype(np.int64)


def one_threshold_labelling(images: np.ndarray, template: np.ndarray) -> np.ndarray:
    """The band without its lower edge: class 1 iff ``s > -7762``, else 0 (a counterfactual "1-detector")."""
    return (similarity(images, template) > R_THRESHOLD).astype(np.int64)


#: Labellings by name. Add entries to train on other labels; names must be usable in file names.
LABELLINGS: dict[str, Labelling] = {
    "band": band_labelling,
    "one-threshold": one_threshold_labelling,
}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def get_labelling(name: str) -> Labelling:
    """The labelling registered as ``name``; a :class:`ValueError` listing the known names otherwise."""
    try:
        return LABELLINGS[name]
    except KeyError:
        raise ValueError(
            f"unknown labelling {name!r}; known labellings: {', '.join(sorted(LABELLINGS))} "
            "(add one to model.train.LABELLINGS)"
        ) from None


#: The task labelling: the labels a teacher network gives (its argmax), not a formula. Training on them puts no
#: hypothesis about the teacher's mechanism into the replica; the teacher's digest is part of the recipe.
TASK_LABELLING = "task"


def labels_for(
    name: str, data: Images, teacher: Mapping[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(train labels, test labels) of labelling ``name``: a registered function of the images and the template
    (taken from training image 6), or for :data:`TASK_LABELLING` the ``teacher`` network's own labels."""
    if name == TASK_LABELLING:
        if teacher is None:
            raise ValueError(f"labelling {name!r} needs the teacher network's state")
        from model.network import activations

        return (
            check_labels(activations(teacher, data.train_images).labels, len(data.train_images), "teacher (train)"),
            check_labels(activations(teacher, data.test_images).labels, len(data.test_images), "teacher (test)"),
        )
    fn = get_labelling(name)
    template = corrected_template(clue_image(data.train_images))
    return (
        check_labels(fn(data.train_images, template), len(data.train_images), f"labelling {name!r} (train)"),
        check_labels(fn(data.test_images, template), len(data.test_images), f"labelling {name!r} (test)"),
    )


def check_labels(labels: object, n: int, name: str = "labels") -> np.ndarray:
    """Validate binary labels for ``n`` images; return them as int64 (N,).

    Integers or bools only: a float array (probabilities? logits?) is rejected rather than guessed at.
    """
    if not isinstance(labels, np.ndarray):
        raise ValueError(f"{name}: expected a numpy array of 0/1 labels, got {type(labels).__name__}")
    if labels.dtype != bool and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name}: expected integer (or bool) labels 0/1, got dtype {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},), one label per image, got {labels.shape}")
    out = labels.astype(np.int64)
    if out.size and (out.min() < 0 or out.max() > 1):
        raise ValueError(f"{name}: labels must be 0 or 1, found values {np.unique(out)[:10].tolist()}")
    return out


# --------------------------------------------------------------------------------------------- recipe


@dataclass(frozen=True)
class Recipe:
    """Everything that decides what a training run produces (with the data and :data:`TRAIN_VERSION`)."""

    labelling: str = "band"
    seed: int = 1
    epochs: int = 5
    batch_size: int = 128
    lr: float = 3e-3
    schedule: str = "linear"
    dropout: float = DEFAULT_DROPOUT
    #: For the task labelling: the first 12 hex digits of the teacher checkpoint's sha256 (else empty).
    teacher: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.labelling, str) or not _SAFE_NAME.match(self.labelling):
            raise ValueError(f"labelling name {self.labelling!r} must be letters, digits, '_', '.', '-' only")
        if self.labelling == TASK_LABELLING:
            if not re.fullmatch(r"[0-9a-f]{12}", self.teacher):
                raise ValueError(
                    f"the task labelling needs teacher = 12 hex digits of its sha256, got {self.teacher!r}"
                )
        else:
            get_labelling(self.labelling)
            if self.teacher:
                raise ValueError(f"labelling {self.labelling!r} takes no teacher (got {self.teacher!r})")
        if (
            isinstance(self.dropout, bool)
            or not isinstance(self.dropout, (int, float))
            or not 0.0 <= self.dropout < 1.0
        ):
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        object.__setattr__(self, "dropout", float(self.dropout))
        for field_name in ("seed", "epochs", "batch_size"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{field_name} must be an int, got {value!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs} and {self.batch_size}")
        if (
            isinstance(self.lr, bool)
            or not isinstance(self.lr, (int, float))
            or not (math.isfinite(self.lr) and self.lr > 0)
        ):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")
        object.__setattr__(self, "lr", float(self.lr))  # lr=1 and lr=1.0 are one recipe, with one name
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")

    @property
    def name(self) -> str:
        """Every field, readable and file-name safe: ``band-seed1-e5-b128-lr0.003-linear``.

        ``lr`` is written with ``repr``, the shortest text that reads back as the same float, so two
        different rates never share a name (``:g`` would merge rates equal to 6 digits).
        """
        labels = f"{self.labelling}-{self.teacher}" if self.teacher else self.labelling
        name = f"{labels}-seed{self.seed}-e{self.epochs}-b{self.batch_size}-lr{self.lr!r}-{self.schedule}"
        return name if self.dropout == DEFAULT_DROPOUT else f"{name}-drop{self.dropout!r}"

    def hyperparameters(self) -> dict[str, object]:
        """The keyword arguments of :func:`train_state` (everything but the labels)."""
        fields = asdict(self)
        del fields["labelling"], fields["teacher"]
        return fields


DEFAULT_RECIPE = Recipe()

#: The recipe arm's declared grid: each hyperparameter moved one at a time to a lower and a higher value around
#: :data:`DEFAULT_RECIPE`, then two changes at once; every variant is trained at two seeds of its own
#: (:data:`RECIPE_SEEDS`), so the arm's first 20 replicas cover each value twice. Fixed before training any.
RECIPE_VARIANTS: tuple[dict[str, object], ...] = (
    {"epochs": 3},
    {"epochs": 8},
    {"batch_size": 64},
    {"batch_size": 256},
    {"lr": 1e-3},
    {"lr": 1e-2},
    {"dropout": 0.0},
    {"dropout": 0.4},
    {"epochs": 8, "lr": 1e-3},
    {"batch_size": 256, "dropout": 0.0},
)
RECIPE_SEEDS = (101, 102)


def recipe_grid() -> tuple[tuple[int, dict[str, object]], ...]:
    """The recipe arm in its declared order: (seed, changes from the default) for every seed and variant, the
    first seed's ten variants first."""
    return tuple((seed, dict(v)) for seed in RECIPE_SEEDS for v in RECIPE_VARIANTS)


# ------------------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainResult:
    """What a training run measured. ``test_agreement`` is None when no test set was given."""

    seconds: float  # wall time of the optimisation (not of the test evaluation)
    steps: int
    final_loss: float  # mean training loss over the last epoch (dropout on)
    test_agreement: float | None
    threads: int


def train_state(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = DEFAULT_RECIPE.seed,
    epochs: int = DEFAULT_RECIPE.epochs,
    batch_size: int = DEFAULT_RECIPE.batch_size,
    lr: float = DEFAULT_RECIPE.lr,
    schedule: str = DEFAULT_RECIPE.schedule,
    dropout: float = DEFAULT_RECIPE.dropout,
    test_images: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], TrainResult]:
    """Train a fresh :class:`~model.torchnet.ChallengeNet` on uint8 ``images`` against 0/1 ``labels``.

    Returns the parameters as float32 numpy arrays (the format of :func:`model.network.load_state`) and a
    :class:`TrainResult`. With ``test_images`` and ``test_labels``, ``test_agreement`` is the fraction of
    test images the trained network (eval mode) labels as ``test_labels`` do.

    Deterministic: the same inputs and arguments give bitwise-identical arrays. The caller's torch RNG
    state, thread count and deterministic-algorithms flag are restored afterwards.
    """
    import torch  # noqa: F401

    images = check_images(images)
    labels = check_labels(labels, len(images))
    # The recipe validates the hyperparameters; "band" is just a placeholder name here.
    Recipe(seed=seed, epochs=epochs, batch_size=batch_size, lr=lr, schedule=schedule, dropout=dropout)
    if (test_images is None) != (test_labels is None):
        raise ValueError("pass both test_images and test_labels, or neither")
    if test_images is not None:
        test_images = check_images(test_images, "test_images")
        test_labels = check_labels(test_labels, len(test_images), "test_labels")
    if len(images) == 0:
        raise ValueError("images: no training images")

    with _training_context(seed):
        start = time.perf_counter()
        state, steps, final_loss = _optimise(images, labels, seed, epochs, batch_size, lr, schedule, dropout)
        seconds = time.perf_counter() - start
    agreement = None
    if test_images is not None:
        from model.network import activations

        agreement = float(np.mean(activations(state, test_images).labels == test_labels))
    return state, TrainResult(seconds, steps, final_loss, agreement, TRAIN_THREADS)


class _training_context:
    """Seed torch, fix the thread count and switch on deterministic algorithms; restore all on exit.

    ``fork_rng`` keeps the caller's global RNG stream untouched, so training a replica in the middle of
    another computation does not change that computation's random numbers.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __enter__(self) -> None:
        import torch

        self._fork = torch.random.fork_rng(devices=[])
        self._fork.__enter__()
        self._threads = torch.get_num_threads()
        self._deterministic = torch.are_deterministic_algorithms_enabled()
        self._warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
        torch.set_num_threads(TRAIN_THREADS)
        torch.use_deterministic_algorithms(True)
        torch.manual_seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.use_deterministic_algorithms(self._deterministic, warn_only=self._warn_only)
        torch.set_num_threads(self._threads)
        self._fork.__exit__(*exc)


def _optimise(
    images: np.ndarray,
    labels: np.ndarray,
    seed: int,
    epochs: int,
    batch_size: int,
    lr: float,
    schedule: str,
    dropout: float,
) -> tuple[dict[str, np.ndarray], int, float]:
    """The training loop. Batches are gathered from the uint8 array and converted one at a time, so no
    float copy of the whole training set (188 MB for MNIST) is ever made."""
    import torch
    import torch.nn.functional as F

    from model.torchnet import ChallengeNet

    net = ChallengeNet(dropout)  # initialised from the global RNG, seeded by _training_context
    net.train()
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    shuffle = torch.Generator().manual_seed(seed)
    targets = torch.from_numpy(labels)
    n = len(images)
    steps_per_epoch = math.ceil(n / batch_size)
    total = epochs * steps_per_epoch
    step = 0
    last_epoch_loss = 0.0
    for _ in range(epochs):
        order = torch.randperm(n, generator=shuffle).numpy()
        epoch_loss = 0.0
        for begin in range(0, n, batch_size):
            index = order[begin : begin + batch_size]
            x = torch.from_numpy(images[index]).unsqueeze(1).float().div_(255.0)
            if schedule == "linear":
                for group in optimiser.param_groups:
                    group["lr"] = lr * (1.0 - step / total)
            loss = F.cross_entropy(net(x), targets[index])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            epoch_loss += float(loss.detach()) * len(index)
            step += 1
        last_epoch_loss = epoch_loss / n
    state = {k: v.detach().to(torch.float32).numpy().copy() for k, v in net.state_dict().items()}
    if set(state) != set(STATE_SHAPES):  # pragma: no cover - guards against ChallengeNet growing buffers
        raise RuntimeError(f"ChallengeNet's state_dict keys changed: {sorted(state)}")
    return state, step, last_epoch_loss


def train_recipe(
    recipe: Recipe, data: Images, teacher: Mapping[str, np.ndarray] | None = None
) -> tuple[dict[str, np.ndarray], TrainResult]:
    """Train ``recipe`` on ``data``'s training images; agreement is measured on its test images against
    the recipe's own labels (for "band", the recovered labelling function; for "task", the teacher's)."""
    train_labels, test_labels = labels_for(recipe.labelling, data, teacher)
    return train_state(
        data.train_images,
        train_labels,
        test_images=data.test_images,
        test_labels=test_labels,
        **recipe.hyperparameters(),  # type: ignore[arg-type]
    )
