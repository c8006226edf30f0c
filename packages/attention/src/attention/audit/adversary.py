"""Adversarial attention (Jain & Wallace 2019, §4.2): with the states fixed, search per unit for
attention as far as possible (Jensen–Shannon divergence) from the learned one whose output stays
within a tolerance of the original.

As their code does it (`AdversaryMulti` in `successar/AttentionExplanation`): K candidates per
sample start from the log of the uniform distribution over the valid steps plus Gaussian noise,
and Adam with AMSGrad moves their log-weights to minimise, per sample,

    Σ_k [ −JSD(α_k, α) + penalty · ReLU(change_k − tolerance) ] − mean over pairs (k, l) of JSD(α_k, α_l)

(the last term spreads the candidates). The JSD is in nats (at most ln 2 ≈ 0.693). After the
search the head is run again on every candidate, and per unit the audit keeps the largest JSD among
the candidates whose output moved by at most the tolerance (none: the unit counts as not found).
"The output" and its change are the audit's (`Forward.change`).
"""

import math
from collections.abc import Callable
from dataclasses import asdict
from typing import ClassVar

import numpy as np
from keras import ops

from attention._types import FloatArray, Tensor
from attention.audit.erasure import js_divergence
from attention.audit.forward import Forward
from attention.audit.gradients import compiled_gradient
from attention.audit.importance import Importances
from attention.audit.measure import AdversarySearch, Column, Details, Measure, Request, Result, summary
from attention.audit.model import call
from attention.predict import batches

# Added to the weights inside the logarithm, as their `kld` does: a zero weight has a finite log.
_TINY = 1e-10


def _jsd(p: Tensor, q: Tensor) -> Tensor:
    """Jensen–Shannon divergence in nats along the last axis, in the backend's ops (their `jsd`)."""

    def kl(a: Tensor, b: Tensor) -> Tensor:
        return ops.sum(a * (ops.log(a + _TINY) - ops.log(b + _TINY)), axis=-1)

    m = 0.5 * (p + q)
    return 0.5 * (kl(p, m) + kl(q, m))


def _change(kind: str, before: Tensor, after: Tensor) -> Tensor:
    """`Forward.change` in the backend's ops: (…, values) → (…)."""
    if kind == "classes":
        return 0.5 * ops.sum(ops.abs(after - before), axis=-1)
    return ops.abs(after - before)[..., 0]


class Adversary(Measure):
    name = "adversarial"
    draws_from_request_rng = True
    reads_importances = False
    columns: ClassVar[dict[str, Column]] = {
        "audit_adversarial_jsd": Column(("max_jsd", "mean"), "JSD of adversarial attention within tolerance"),
        "audit_adversarial_found": Column(("found_rate",), "units with adversarial attention within tolerance"),
    }

    def compute(self, forward: Forward, importances: Importances, request: Request) -> tuple[Result | None, Details]:
        search = request.adversary
        candidates, outputs = _search(forward, search, request.rng)
        k = search.candidates
        # Each unit's candidates as distributions over the steps, (samples, K, units, steps).
        per_unit = candidates if forward.per_row else candidates.mean(axis=2, keepdims=True)
        divergence = js_divergence(per_unit, forward.per_unit[:, None], base=math.e)  # (samples, K, units)
        change = forward.change(np.repeat(forward.outputs[:, None], k, axis=1), outputs)  # (samples, K, units)
        within = change <= search.tolerance
        found = within.any(axis=1)  # (samples, units)
        chosen = np.where(within, divergence, -np.inf).argmax(axis=1)  # the farthest within tolerance
        max_jsd = np.where(found, np.take_along_axis(divergence, chosen[:, None], axis=1)[:, 0], np.nan)
        chosen_change = np.where(found, np.take_along_axis(change, chosen[:, None], axis=1)[:, 0], np.nan)
        result: Result = {
            **asdict(search),
            "found_rate": float(found.mean()),
            "max_jsd": summary(max_jsd),
            "output_change": summary(chosen_change),
        }
        kept: Details = {
            "adversarial_candidates": candidates,  # (samples, K, rows, steps)
            "adversarial_outputs": outputs,  # (samples, K, units, values), the head run again on them
            "adversarial_chosen": np.where(found, chosen, -1),  # (samples, units): the candidate kept, or -1
            "adversarial_jsd": max_jsd,  # (samples, units), nan where none was found
        }
        return result, kept


def _search(forward: Forward, search: AdversarySearch, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """(the K candidates, (samples, K, rows, steps); the head's outputs on them, (samples, K, units,
    values)), batch by batch of samples: a sample's search never reads another's, so the batches
    change no number."""
    k, rows, steps = search.candidates, forward.weights.shape[1], forward.steps
    valid = forward.valid[:, None, None, :]  # (samples, 1, 1, steps)
    count = forward.valid.sum(axis=-1)[:, None, None, None]
    start = np.where(valid, -np.log(np.maximum(count, 1)), 0.0) + rng.normal(
        0.0, search.noise, (forward.samples, k, rows, steps)
    )
    loss_gradient = compiled_gradient(_loss_function(forward, search))
    size = max(1, forward.model.batch_size // k)  # the states are repeated K times
    candidates, outputs = [], []
    for part in batches(forward.samples, size):
        log_weights = start[part].astype("float32")
        optimizer = _AMSGrad(log_weights.shape, search.learning_rate)
        states = [np.repeat(s[part], k, axis=0) for s in forward.states]
        # Made tensors once: the states are the bulk of what each step reads.
        constants = [
            ops.convert_to_tensor(c)
            for c in (
                forward.valid[part][:, None, None, :],
                forward.weights[part].astype("float32"),
                forward.outputs[part].astype("float32"),
                *states,
            )
        ]
        for _ in range(search.steps):
            log_weights = optimizer.step(log_weights, loss_gradient(log_weights, *constants))
        weights = _softmax(log_weights, forward.valid[part][:, None, None, :])
        candidates.append(weights)
        flat = weights.reshape((-1, rows, steps))
        y = forward.units(forward.model.head_with(states, flat, forward.layer_shape))
        outputs.append(y.reshape((len(weights), k, *y.shape[1:])))
    return np.concatenate(candidates), np.concatenate(outputs)


class _AMSGrad:
    """Adam with AMSGrad as their search runs it (PyTorch's `Adam(amsgrad=True)`: β 0.9 and 0.999,
    ε 1e-8), in NumPy: a few array operations a step, where a Keras optimizer applied eagerly
    costs several times the compiled gradient itself."""

    def __init__(self, shape: tuple[int, ...], learning_rate: float) -> None:
        self.learning_rate, self.t = learning_rate, 0
        self.m, self.v, self.v_max = np.zeros(shape), np.zeros(shape), np.zeros(shape)

    def step(self, x: FloatArray, grad: FloatArray) -> FloatArray:
        self.t += 1
        self.m = 0.9 * self.m + 0.1 * grad
        self.v = 0.999 * self.v + 0.001 * grad * grad
        self.v_max = np.maximum(self.v_max, self.v)
        denominator = np.sqrt(self.v_max) / math.sqrt(1 - 0.999**self.t) + 1e-8
        moved: FloatArray = (x - self.learning_rate / (1 - 0.9**self.t) * self.m / denominator).astype(x.dtype)
        return moved


def _softmax(log_weights: FloatArray, valid: np.ndarray) -> FloatArray:
    """The candidates' weights: a softmax over the valid steps (masked steps get exactly 0)."""
    weights: FloatArray = ops.convert_to_numpy(ops.softmax(ops.where(valid, log_weights, -1e9), axis=-1))
    return weights


def _loss_function(forward: Forward, search: AdversarySearch) -> Callable[..., Tensor]:
    """The search's loss, summed over the samples, as a function of (log-weights, valid, learned
    weights, outputs, *states repeated K times)."""
    layer, head, layer_shape = forward.model.layer, forward.model.head, forward.layer_shape
    k, per_row, kind = search.candidates, forward.per_row, forward.kind

    def loss(log_weights: Tensor, valid: Tensor, learned: Tensor, before: Tensor, *states: Tensor) -> Tensor:
        weights = ops.softmax(ops.where(valid, log_weights, -1e9), axis=-1)  # (n, K, rows, steps)

        def change_weights(_: Tensor) -> Tensor:
            return ops.reshape(weights, (-1, *layer_shape))

        with layer.weights_changed(change_weights):
            y = call(head, list(states))
        y = ops.reshape(y, (-1, k, *ops.shape(before)[1:]))  # (n, K, units, values)
        moved = _change(kind, ops.expand_dims(before, 1), y)  # (n, K, units)
        if per_row:
            mine, theirs = weights, ops.expand_dims(learned, 1)
        else:
            mine = ops.mean(weights, axis=2, keepdims=True)
            theirs = ops.expand_dims(ops.mean(learned, axis=1, keepdims=True), 1)
        apart = _jsd(mine, theirs)  # (n, K, units)
        spread = _jsd(ops.expand_dims(mine, 1), ops.expand_dims(mine, 2))  # (n, K, K, units)
        return ops.sum(-apart + search.penalty * ops.relu(moved - search.tolerance), axis=(1, 2)) - ops.sum(
            spread, axis=(1, 2, 3)
        ) / (k * k)

    return loss
