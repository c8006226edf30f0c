"""Explaining a stack of self-attention layers by its inputs: attention rollout and attention flow
(Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").

A stack's weights are (samples, layers, heads, steps, steps): row t of a layer's matrix is what step
t of that layer's output takes from each step of its input. Both methods first average the heads
and add the residual connection, Â = ½·A + ½·I, rows renormalised; then

- rollout multiplies through the layers, R = Â_L ⋯ Â_1: row t of R is what the top layer's step t
  takes from each input step;
- flow reads the layers as a graph (one node per step and layer, an edge of capacity Â_l[t, s] from
  step s below to step t above) and takes the maximum flow from each input step to the output.

The output is a set of the top layer's steps: the class token's, or every unmasked step for a model
that pools by their mean (flow then drains them, each with capacity 1/their number, into one sink).
Rollout costs a few matrix products; flow one max-flow per input step and sample (networkx).
"""

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike

from attention._types import Array, BoolArray, FloatArray
from attention.audit.agreement import kendall_tau
from attention.audit.eraser import aopc, drops
from attention.audit.forward import output_kind_of
from attention.audit.input_importance import input_importances
from attention.predict import predict_in_batches
from attention.probe import attention_model


def with_residual(stack: FloatArray) -> FloatArray:
    """(samples, layers, steps, steps): each layer's weights, heads averaged, as ½·A + ½·I with rows
    renormalised."""
    mean = np.asarray(stack, dtype="float64").mean(axis=2)
    mixed: FloatArray = 0.5 * mean + 0.5 * np.eye(mean.shape[-1])
    normalised: FloatArray = mixed / mixed.sum(axis=-1, keepdims=True)
    return normalised


def _outputs(samples: int, steps: int, outputs: BoolArray | Sequence[int] | None) -> BoolArray:
    """(samples, steps) marks of the top layer's steps that make the output (default: all)."""
    if outputs is None:
        return np.ones((samples, steps), dtype=bool)
    marks = np.asarray(outputs)
    if marks.dtype != bool:  # step numbers, the same for every sample (a class token's)
        chosen = np.zeros((samples, steps), dtype=bool)
        chosen[:, marks] = True
        return chosen
    return np.broadcast_to(marks, (samples, steps))


def _pooled(weights: FloatArray, outputs: BoolArray) -> FloatArray:
    """(samples, steps): the rows of `weights` (samples, steps, steps) that make the output, averaged."""
    pooled: FloatArray = (weights * outputs[..., None]).sum(axis=1) / outputs.sum(axis=1, keepdims=True)
    return pooled


def rollout(stack: FloatArray, outputs: BoolArray | Sequence[int] | None = None) -> FloatArray:
    """Attention rollout of each sample's output over its input steps: (samples, steps), each row
    summing to 1. `stack`: (samples, layers, heads, steps, steps); `outputs`: the top layer's steps
    that make the output ((samples, steps) marks, or step numbers such as [0] for a class token;
    default: every step), whose rows of R are averaged."""
    layers = with_residual(stack)
    rolled = layers[:, 0]
    for layer in range(1, layers.shape[1]):
        rolled = layers[:, layer] @ rolled
    return _pooled(rolled, _outputs(len(rolled), rolled.shape[-1], outputs))


def flow(stack: FloatArray, outputs: BoolArray | Sequence[int] | None = None) -> FloatArray:
    """Attention flow of each sample's output over its input steps: (samples, steps), the maximum
    flow from each input step into the output, normalised to sum 1. Arguments as `rollout`."""
    layers = with_residual(stack)
    samples, depth, steps, _ = layers.shape
    marks = _outputs(samples, steps, outputs)
    flows = np.zeros((samples, steps))
    for sample in range(samples):
        graph = nx.DiGraph()
        for layer in range(depth):
            for above in range(steps):
                for below in range(steps):
                    if layers[sample, layer, above, below] > 0:
                        graph.add_edge((layer, below), (layer + 1, above), capacity=layers[sample, layer, above, below])
        tops = np.flatnonzero(marks[sample])
        for top in tops:
            graph.add_edge((depth, top), "output", capacity=1.0 / len(tops))
        for step in range(steps):
            if graph.has_node((0, step)):
                flows[sample, step] = nx.maximum_flow_value(graph, (0, step), "output")
    total = flows.sum(axis=1, keepdims=True)
    normalised: FloatArray = flows / np.where(total > 0, total, 1.0)
    return normalised


# --- The audit of a stack: each explanation against the importances and the known answer ----------

EXPLANATIONS = ("last_layer", "mean_of_layers", "rollout", "flow")
IMPORTANCES = ("gradient", "leave_one_out", "integrated_gradients")


def explanations(stack: FloatArray, outputs: BoolArray, flow_samples: int) -> dict[str, FloatArray]:
    """{explanation: (samples, steps)} of a stack: the last layer's raw weights and the mean of every
    layer's (heads averaged, the output's rows averaged), the rollout, and the flow (its first
    `flow_samples` samples only, none for 0: one max-flow per step and sample, whose cost grows
    with the cube of the steps or faster: about 2 s a sample at 50 steps, 18 s at 100, 160 s at
    200, with two layers on one core of an AMD EPYC)."""
    found = {
        "last_layer": _pooled(stack[:, -1].mean(axis=1), outputs),
        "mean_of_layers": _pooled(stack.mean(axis=(1, 2)), outputs),
        "rollout": rollout(stack, outputs),
    }
    if flow_samples > 0:
        found["flow"] = flow(stack[:flow_samples], outputs[:flow_samples])
    return found


class StackAudit:
    """Which explanation of a stack of self-attention layers finds what decides the output?

    The explanations (`explanations`) are held against three importances of each input step,
    computed on the embedding where the model starts with one (else on the inputs): gradient ×
    input, |Σ_d ∂f/∂e_d · e_d|; leave-one-out, |f(x) − f(x without the step)|; and integrated
    gradients (Sundararajan et al. 2017), Σ_d (e_d − 0) · mean over `ig_steps` points of the path
    from 0 to e of ∂f/∂e_d, whose sum over the steps is f(x) − f(0) (its largest gap is reported).
    f is the output: a binary classifier's probability, the decided class's probability, or the value.

    For each explanation and importance: the mean Kendall τ-b with each importance over the valid
    steps, and, given the steps that decide each sample (`deciding`), the share of samples whose top
    step is one of them. For a classifier, ERASER in each one's order and in a random one (`eraser`:
    comprehensiveness, sufficiency and their AOPC, as `AttentionAudit`'s). Padding (token 0) that
    the model does not mask is not a step. Flow explains the first `flow_samples` samples, and none where the
    sequences are longer than `flow_max_steps` (its entry is then None). Single-input models whose
    `layer_name` layer is a `TransformerEncoder`.
    """

    def __init__(
        self,
        model: Any,
        layer_name: str = "attention",
        ig_steps: int = 32,
        flow_samples: int = 50,
        flow_max_steps: int = 100,
        batch_size: int = 256,
    ) -> None:
        if ig_steps < 1 or flow_samples < 1:
            raise ValueError(f"ig_steps and flow_samples must be positive; got {ig_steps} and {flow_samples}")
        self.model, self.layer_name = model, layer_name
        self.ig_steps, self.flow_samples, self.batch_size = ig_steps, flow_samples, batch_size
        self.flow_max_steps = flow_max_steps
        self.pooling = model.get_layer(layer_name).pooling

    def _stack(self, x: Array) -> tuple[FloatArray, BoolArray, BoolArray]:
        """(the stack without a class token's own step, the valid input steps, the output rows)."""
        probe = attention_model(self.model, self.layer_name, read="return_stack")
        stack = np.asarray(predict_in_batches(probe, x, self.batch_size), dtype="float64")
        valid = stack[:, 0].mean(axis=1).sum(axis=1) > 0  # a masked key gets weight 0 from every query
        tokens = np.asarray(x)
        if np.issubdtype(tokens.dtype, np.integer):  # padding the model does not mask
            valid[:, -tokens.shape[1] :] &= tokens != 0
        if self.pooling == "class_token":
            outputs = np.zeros(valid.shape, dtype=bool)
            outputs[:, 0] = True
            return stack, valid[:, 1:], outputs
        return stack, valid, valid

    def _eraser(self, x: Array, valid: BoolArray, rankings: dict[str, FloatArray], seed: int) -> dict[str, Any] | None:
        """ERASER in the order of each ranking (samples, steps) and a random one; None for a regression."""

        def predict(inputs: Any) -> FloatArray:
            y = np.asarray(predict_in_batches(self.model, inputs, self.batch_size), dtype="float64")
            return y.reshape(len(y), -1)

        predicted = predict(x)
        kind = output_kind_of(self.model, predicted)
        if kind == "regression":
            return None
        decided = predicted.argmax(axis=1) if kind == "classes" else (predicted[:, 0] > 0.5).astype(int)

        def probability(y: FloatArray, rows: slice) -> FloatArray:
            if kind == "binary":
                return np.where(decided[rows] == 1, y[:, 0], 1 - y[:, 0])
            chosen: FloatArray = np.take_along_axis(y, decided[rows, None], axis=1)[:, 0]
            return chosen

        random = np.random.default_rng([seed, 1]).random(valid.shape)
        found = drops(
            predict,
            probability,
            probability(predicted, slice(None)),
            [np.asarray(x)],
            0,
            valid,
            {**rankings, "random": random},
        )
        return aopc(found)

    def run(self, x: Array, deciding: ArrayLike | None = None, seed: int = 0) -> dict[str, Any]:
        """The measures over the samples `x` (one array); `deciding`: optional 0/1 (samples, steps);
        `seed`: ERASER's random order."""
        stack, valid, outputs = self._stack(x)
        # Flow only where it ends in reasonable time: its cost grows with the cube of the steps.
        flow_samples = min(self.flow_samples, len(x)) if stack.shape[-1] <= self.flow_max_steps else 0
        explained = explanations(stack, outputs, flow_samples)
        if self.pooling == "class_token":  # the input steps only, without the token itself
            explained = {name: e[:, 1:] / e[:, 1:].sum(axis=1, keepdims=True) for name, e in explained.items()}
        importances, completeness = input_importances(self.model, x, valid, self.ig_steps, self.batch_size)
        truth = None if deciding is None else np.asarray(deciding, dtype=bool)[: len(x)]

        def hit_rate(scores: FloatArray) -> float | None:
            if truth is None:
                return None
            rows = truth[: len(scores)].any(axis=1)
            top = np.where(valid[: len(scores)], scores, -np.inf).argmax(axis=1)
            return float(truth[np.arange(len(scores)), top][rows].mean()) if rows.any() else None

        def mean_tau(a: FloatArray, b: FloatArray) -> float | None:
            taus = np.array([kendall_tau(a[i], b[i], valid[i])[0] for i in range(len(a))])
            defined = ~np.isnan(taus)
            return float(taus[defined].mean()) if defined.any() else None

        result: dict[str, Any] = {
            "samples": len(x),
            "flow_samples": flow_samples,  # 0: the sequences are longer than flow_max_steps
            "integrated_gradients": {"steps": self.ig_steps, "largest_completeness_gap": completeness},
            "explanations": {},
            "importances": {name: {"hit_rate": hit_rate(values)} for name, values in importances.items()},
        }
        for name in EXPLANATIONS:
            if name not in explained:
                result["explanations"][name] = None
                continue
            values = explained[name]
            count = len(values)
            result["explanations"][name] = {
                "hit_rate": hit_rate(values),
                "tau": {imp: mean_tau(values, importances[imp][:count]) for imp in IMPORTANCES},
            }
        result["eraser"] = self._eraser(x, valid, {**explained, **importances}, seed)
        return result
