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

import numpy as np

from attention._types import BoolArray, FloatArray


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


def rollout(stack: FloatArray, outputs: BoolArray | Sequence[int] | None = None) -> FloatArray:
    """Attention rollout of each sample's output over its input steps: (samples, steps), each row
    summing to 1. `stack`: (samples, layers, heads, steps, steps); `outputs`: the top layer's steps
    that make the output ((samples, steps) marks, or step numbers such as [0] for a class token;
    default: every step), whose rows of R are averaged."""
    layers = with_residual(stack)
    rolled = layers[:, 0]
    for layer in range(1, layers.shape[1]):
        rolled = layers[:, layer] @ rolled
    marks = _outputs(len(rolled), rolled.shape[-1], outputs)
    pooled: FloatArray = (rolled * marks[..., None]).sum(axis=1) / marks.sum(axis=1, keepdims=True)
    return pooled


def flow(stack: FloatArray, outputs: BoolArray | Sequence[int] | None = None) -> FloatArray:
    """Attention flow of each sample's output over its input steps: (samples, steps), the maximum
    flow from each input step into the output, normalised to sum 1. Arguments as `rollout`."""
    import networkx as nx  # noqa: PLC0415  (the audit's extra; the layers need it not)

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
