"""The task data and the attention-quality measures, on small hand-checkable examples."""

import numpy as np
from omegaconf import OmegaConf

from experiments.run.quality import peak_quality, top_k_hits
from experiments.tasks import add_two_numbers, find_max
from experiments.tasks.add_two_numbers import AddTwoNumbers
from experiments.tasks.find_max import FindMax


def test_add_two_numbers_puts_the_numbers_right_after_the_delimiters():
    rng = np.random.default_rng(0)
    x, y = add_two_numbers.add_two_numbers(rng, 500, 20, 0.0)
    cfg = OmegaConf.create({"data": {"delimiter": 0.0}})
    expected = AddTwoNumbers().expected_attention(cfg, x, y)
    assert np.all(expected.sum(axis=1) == 2)  # two numbers, never overwritten by a delimiter
    numbers = (x[..., 0] * expected).sum(axis=1)
    np.testing.assert_allclose(0.5 * numbers, y[:, 0], rtol=1e-6)
    positions = np.argwhere(expected)[:, 1].reshape(-1, 2)
    assert positions.min() >= 1 and np.all(np.diff(positions, axis=1) >= 2)


def test_add_two_numbers_probe_has_the_fixed_positions():
    x, _ = add_two_numbers.add_two_numbers(np.random.default_rng(1), 10, 20, 0.0, positions=(4, 9))
    cfg = OmegaConf.create({"data": {"delimiter": 0.0}})
    expected = AddTwoNumbers().expected_attention(cfg, x, None)
    assert np.all(np.argwhere(expected)[:, 1].reshape(-1, 2) == [4, 9])


def test_find_max_labels_are_the_maximum_and_roughly_uniform():
    x, y = find_max.sequences(np.random.default_rng(0), 20000, 10)
    np.testing.assert_array_equal(y, x.max(axis=1))
    assert abs(float(np.median(y)) - 0.5) < 0.02  # Beta(1/10, 1): the max of 10 is ~U(0, 1)
    expected = FindMax().expected_attention(None, x[:3], y[:3])
    np.testing.assert_array_equal(expected.argmax(axis=1), x[:3, :, 0].argmax(axis=1))


def test_top_k_hits_needs_the_top_k_exactly_on_the_marked_positions():
    expected = np.array([[0, 1, 0, 1], [0, 1, 0, 1], [1, 0, 0, 0]], dtype="float32")
    weights = np.array(
        [
            [0.1, 0.4, 0.1, 0.4],  # both marks on top: hit
            [0.4, 0.3, 0.1, 0.2],  # second largest is off the marks: miss
            [0.7, 0.1, 0.1, 0.1],  # k = 1: the argmax is the mark
        ]
    )
    # k comes from the rows' number of marks, so the k = 2 and k = 1 rows go in separately.
    assert top_k_hits(weights[:2], expected[:2]).tolist() == [True, False]
    assert top_k_hits(weights[2:], expected[2:]).tolist() == [True]


def test_peak_quality_on_a_hand_made_profile():
    weights = np.array([[0.1, 0.6, 0.3], [0.1, 0.4, 0.5]])  # mean: 0.1, 0.5, 0.4
    quality = peak_quality(weights, target_index=1)
    assert quality == {"target_index": 1, "peak_index": 1, "peak_weight": 0.5, "runner_up_weight": 0.4}
