"""model.train: deterministic training, labellings, recipes and their names (saved checkpoints: tests/fixtures).

Unit tests train on 256 random images for one epoch (milliseconds); one slow test trains the default
recipe on MNIST for real and checks the write-up's bar of >= 95 % agreement with the recovered function.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from model import train
from model.labelling import R_THRESHOLD, band_labels, clue_image, corrected_template, similarity
from model.network import activations
from model.spec import STATE_SHAPES
from model.train import DEFAULT_RECIPE, Recipe, TrainResult

FAST = dict(epochs=1, batch_size=64)  # 4 optimiser steps on 256 images
FAST_RECIPE = Recipe(seed=3, **FAST)


def random_images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def brightness_labels(images: np.ndarray) -> np.ndarray:
    """Brighter than the median image or not."""
    mean = images.reshape(len(images), -1).mean(axis=1)
    return (mean > np.median(mean)).astype(np.int64)


def dimmed_images(n: int, seed: int) -> np.ndarray:
    """Random images, each dimmed by its own factor: brightness then varies enough to be easy to learn."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.0, 1.0, size=(n, 1, 1))
    return (random_images(n, seed) * scale).astype(np.uint8)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return random_images(256, 7)


@pytest.fixture(scope="module")
def labels(images: np.ndarray) -> np.ndarray:
    return brightness_labels(images)


# ------------------------------------------------------------------------------------------ training


def test_same_seed_gives_bitwise_identical_state(images, labels):
    first, _ = train.train_state(images, labels, seed=5, **FAST)
    second, _ = train.train_state(images, labels, seed=5, **FAST)
    assert set(first) == set(STATE_SHAPES)
    for key, shape in STATE_SHAPES.items():
        assert first[key].dtype == np.float32 and first[key].shape == shape
        assert np.array_equal(first[key], second[key]), key


def test_different_seeds_give_different_states(images, labels):
    first, _ = train.train_state(images, labels, seed=5, **FAST)
    second, _ = train.train_state(images, labels, seed=6, **FAST)
    assert all(not np.array_equal(first[k], second[k]) for k in STATE_SHAPES)


def test_result_is_independent_of_the_callers_thread_count(images, labels):
    """The bits depend on torch's thread count, so training pins it; the caller's setting must not leak in."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one, _ = train.train_state(images, labels, seed=5, **FAST)
        torch.set_num_threads(2)
        two, _ = train.train_state(images, labels, seed=5, **FAST)
    finally:
        torch.set_num_threads(before)
    assert all(np.array_equal(one[k], two[k]) for k in STATE_SHAPES)


def test_training_leaves_torch_global_state_as_it_was(images, labels):
    import torch

    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    train.train_state(images, labels, seed=5, **FAST)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert torch.equal(torch.rand(3), expected_next), "training consumed the caller's random numbers"


def test_training_learns_an_easy_labelling():
    """Guards the loop itself (targets, optimiser, eval mode): brightness is learnt within a few epochs."""
    easy, test = dimmed_images(256, 7), dimmed_images(128, 8)
    _, result = train.train_state(
        easy,
        brightness_labels(easy),
        seed=1,
        epochs=8,
        batch_size=32,
        lr=3e-3,
        test_images=test,
        test_labels=brightness_labels(test),
    )
    assert isinstance(result, TrainResult)
    assert result.steps == 8 * 256 // 32 and result.threads == train.TRAIN_THREADS
    assert result.seconds > 0 and np.isfinite(result.final_loss)
    assert result.test_agreement is not None and result.test_agreement >= 0.8


def test_state_works_with_the_suites_network(images, labels):
    state, result = train.train_state(images, labels, seed=1, **FAST, test_images=images, test_labels=labels)
    predicted = activations(state, images).labels
    assert result.test_agreement == pytest.approx(float(np.mean(predicted == labels)))


def test_without_a_test_set_there_is_no_agreement(images, labels):
    assert train.train_state(images, labels, **FAST)[1].test_agreement is None


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros(255, dtype=np.int64), r"shape \(256,\)"),
        (np.zeros((256, 1), dtype=np.int64), r"shape \(256,\)"),
        (np.zeros(256, dtype=np.float32), "dtype float32"),
        (np.full(256, 2, dtype=np.int64), "0 or 1"),
        ([0] * 256, "numpy array"),
    ],
)
def test_bad_labels_are_a_clear_value_error(images, bad, message):
    with pytest.raises(ValueError, match=message):
        train.train_state(images, bad, **FAST)


def test_bool_labels_are_accepted(images, labels):
    as_bool, _ = train.train_state(images, labels.astype(bool), seed=5, **FAST)
    as_int, _ = train.train_state(images, labels, seed=5, **FAST)
    assert all(np.array_equal(as_bool[k], as_int[k]) for k in STATE_SHAPES)


def test_test_images_need_test_labels(images, labels):
    with pytest.raises(ValueError, match="both test_images and test_labels"):
        train.train_state(images, labels, **FAST, test_images=images)


# ----------------------------------------------------------------------------------- labellings, recipe


def test_band_labelling_is_the_recovered_function():
    imgs = random_images(64, 3)
    template = corrected_template(clue_image(random_images(8, 4)))
    s = similarity(imgs, template)
    assert np.array_equal(train.LABELLINGS["band"](imgs, template), band_labels(s))


def test_one_threshold_labelling_drops_the_lower_edge():
    imgs = random_images(64, 3)
    template = corrected_template(clue_image(random_images(8, 4)))
    s = similarity(imgs, template)
    assert np.array_equal(train.LABELLINGS["one-threshold"](imgs, template), (s > R_THRESHOLD).astype(int))


def test_unknown_labelling_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"unknown labelling 'nope'.*band.*one-threshold"):
        Recipe(labelling="nope")
    with pytest.raises(ValueError, match="unknown labelling"):
        train.get_labelling("nope")


def test_recipe_names_encode_every_field():
    assert DEFAULT_RECIPE.name == "band-seed1-e5-b128-lr0.003-linear"
    custom = Recipe(labelling="one-threshold", seed=2, epochs=3, batch_size=64, lr=1e-3, schedule="constant")
    assert custom.name == "one-threshold-seed2-e3-b64-lr0.001-constant"
    changes = {
        "labelling": "band",
        "seed": 3,
        "epochs": 4,
        "batch_size": 32,
        "lr": 2e-3,
        "schedule": "linear",
        "dropout": 0.1,
    }
    assert set(changes) | {"teacher"} == {f.name for f in dataclasses.fields(Recipe)}
    variants = [dataclasses.replace(custom, **{k: v}) for k, v in changes.items()]
    task = Recipe(labelling="task", teacher="0123456789ab")
    names = {
        custom.name,
        *(v.name for v in variants),
        task.name,
        dataclasses.replace(task, teacher="ba9876543210").name,
    }
    assert len(names) == 3 + len(changes), "two different recipes share a file name"
    assert task.name == "task-0123456789ab-seed1-e5-b128-lr0.003-linear"
    assert Recipe(dropout=0.4).name == "band-seed1-e5-b128-lr0.003-linear-drop0.4"


def test_the_task_labelling_needs_its_teacher_and_only_it_has_one():
    with pytest.raises(ValueError, match="teacher"):
        Recipe(labelling="task")
    with pytest.raises(ValueError, match="teacher"):
        Recipe(labelling="band", teacher="0123456789ab")


def test_the_task_labels_are_the_teachers_own_labels(images, labels):
    """Trained on a teacher's labels: the labels are its argmax on the images, train and test alike."""
    from types import SimpleNamespace

    teacher, _ = train.train_state(images, labels, **FAST)
    data = SimpleNamespace(train_images=images, test_images=images[:50])
    got_train, got_test = train.labels_for("task", data, teacher)
    assert np.array_equal(got_train, activations(teacher, images).labels)
    assert np.array_equal(got_test, got_train[:50])
    with pytest.raises(ValueError, match="teacher"):
        train.labels_for("task", data)


def test_the_recipe_grid_is_declared_and_each_value_appears_twice():
    grid = train.recipe_grid()
    assert len(grid) == 20 and len({(seed, tuple(c.items())) for seed, c in grid}) == 20
    for variant in train.RECIPE_VARIANTS:
        assert sum(1 for _, c in grid if c == variant) == len(train.RECIPE_SEEDS)
        Recipe(labelling="task", teacher="0" * 12, **variant)  # every variant is a valid recipe


def test_close_learning_rates_get_different_names():
    assert Recipe(lr=0.0031234567).name != Recipe(lr=0.0031234568).name
    assert Recipe(lr=1).name == Recipe(lr=1.0).name and Recipe(lr=1) == Recipe(lr=1.0)


def test_recipe_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_RECIPE.seed = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    "field, value",
    [
        ("epochs", 0),
        ("batch_size", 0),
        ("lr", -1.0),
        ("lr", float("nan")),
        ("seed", -1),
        ("schedule", "cosine"),
        ("seed", 1.5),
        ("labelling", "../escape"),
        ("dropout", 1.0),
        ("dropout", -0.1),
    ],
)
def test_invalid_recipes_are_rejected(field, value):
    with pytest.raises(ValueError):
        dataclasses.replace(DEFAULT_RECIPE, **{field: value})


# ------------------------------------------------------------------------------------------- real data


@pytest.mark.slow
@pytest.mark.needs_data
def test_default_recipe_learns_the_recovered_function(mnist):
    """The default recipe reaches >= 95 % test agreement with the recovered labelling function (~1 min)."""
    state, result = train.train_recipe(DEFAULT_RECIPE, mnist)
    template = corrected_template(clue_image(mnist.train_images))
    expected = band_labels(similarity(mnist.test_images, template))
    agreement = float(np.mean(activations(state, mnist.test_images).labels == expected))
    assert agreement >= 0.95
    assert result.test_agreement == pytest.approx(agreement, abs=1e-12)
