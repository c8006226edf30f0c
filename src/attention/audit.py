"""Is the attention where the decision comes from? A faithfulness audit for any Keras model that
holds one of this package's attention layers.

    from attention.audit import AttentionAudit

    audit = AttentionAudit(model)                 # finds the attention layer (or name it)
    result = audit.run(x_test[:200])              # a JSON-ready dict of the measures below
    result = audit.run(x, deciding=truth)         # and ground-truth hit rates, where known

The measures follow the three papers that tested LSTM + attention classifiers:

- **agreement** (Jain & Wallace 2019): Kendall τ-b between the attention weights and (a) gradient ×
  input importance, `|Σ_d ∂ŷ/∂e_d · e_d|` on the embedding (on the input features where there is
  no embedding), with the attention held constant, and (b) leave-one-out importance, the change of
  the output when the step is deleted (a token: removed, the sequence padded at the front with 0;
  a number: set to 0);
- **permutation** (Jain & Wallace): with the hidden states fixed, the median change of the output
  over random permutations of the weights, per sample, against its largest weight;
- **erasure** (Serrano & Smith 2019): zero the largest weight and renormalise, against zeroing a
  random one (the output's change, its Jensen–Shannon divergence for a classifier, and whether the
  decision flips); and how many weights must be removed, in attention, gradient (∂ decision/∂ weight)
  and random order, before the decision flips;
- **ground truth**, where the caller knows which steps decide the answer: how often the top of each
  explanation (attention, gradient, leave-one-out) falls on one of them;
- **ERASER** (DeYoung et al. 2020), for classifiers: for 1, 5, 10, 20 and 50% of a sample's real
  steps, the top of each explanation (attention, gradient, leave-one-out, and random as the floor)
  removed from the input (comprehensiveness: the drop of the decided class's probability) or kept
  alone (sufficiency: the drop then), and each one's mean over the fractions (AOPC). Removed tokens
  are deleted, the rest padded at the front; removed numbers are set to 0.

"The output" is the predicted probability of a binary classifier (a change is its absolute
difference: the total variation distance), the class distribution of a softmax classifier (the
total variation distance; a decision is the argmax) or the value of a regression (its absolute
difference; it "flips" when it moves by more than `regression_tolerance`). Where each output step
has its own attention row (an encoder-decoder), every (sample, output step) is one unit.

Steps the layer masks, and padding (token 0, Keras' convention) where the model does not mask it,
are never counted: they are left out of τ, never permuted, erased or counted as removals.
The gradients use the backend's autodiff; they run on TensorFlow.
"""

import keras
import numpy as np
from keras import ops
from scipy import stats

from attention.base import SoftmaxAttention

OUTPUT_KINDS = ("binary", "classes", "regression")


def js_divergence(p, q, axis=-1):
    """Jensen–Shannon divergence (base 2, in [0, 1]) between distributions along `axis`."""
    p, q = np.asarray(p, dtype="float64"), np.asarray(q, dtype="float64")
    m = 0.5 * (p + q)

    def kl(a, b):
        return np.sum(np.where(a > 0, a * np.log2(np.where(a > 0, a, 1) / np.where(b > 0, b, 1)), 0.0), axis=axis)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def kendall_tau(a, b, valid):
    """Kendall τ-b and its p-value between `a` and `b` over the steps where `valid` is True.

    (nan, nan) where either is constant over those steps (uniform attention has no ranking)."""
    a, b = np.asarray(a)[valid], np.asarray(b)[valid]
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    result = stats.kendalltau(a, b)
    return float(result.statistic), float(result.pvalue)


def _gradient(function, x):
    """∂ Σ function(x) / ∂x, as NumPy, with the backend's autodiff."""
    if keras.backend.backend() != "tensorflow":
        raise NotImplementedError(
            f"the audit's gradients run on the TensorFlow backend; this is {keras.backend.backend()!r}"
        )
    import tensorflow as tf  # noqa: PLC0415  (its GradientTape, on TensorFlow only)

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(function(x))
    return tape.gradient(total, x).numpy()


def _find_layer(model, layer_name):
    if layer_name is not None:
        layer = model.get_layer(layer_name)
        if not isinstance(layer, SoftmaxAttention):
            raise ValueError(
                f"layer {layer_name!r} is a {type(layer).__name__}, not one of this package's attention layers"
            )
        return layer
    # Top-level layers only: the audit cuts the model's own graph at the attention layer.
    found = [layer for layer in model.layers if isinstance(layer, SoftmaxAttention)]
    if len(found) != 1:
        names = ", ".join(layer.name for layer in found) or "none"
        raise ValueError(f"the audit needs exactly one attention layer of this package, or its name; found: {names}")
    return found[0]


def _batches(count, size):
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _model(inputs, outputs):
    """A functional model over a list of inputs (one input: unwrapped, as `_call` passes it)."""
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs)


def _call(model, inputs):
    """`model` called in inference mode on a list of inputs (one input: unwrapped, as it was built)."""
    inputs = [ops.convert_to_tensor(i) for i in inputs]  # Keras takes tensors or arrays, not both
    return model(inputs[0] if len(inputs) == 1 else inputs, training=False)


class AttentionAudit:
    """The faithfulness measures of one trained model (see the module's docstring).

    Args:
        model: a functional Keras model with one output and one attention layer of this package
            (a `SoftmaxAttention`), called once.
        layer_name: the attention layer's name, where the model has several.
        output: 'binary', 'classes', 'regression', or 'auto' (several outputs per unit: classes;
            one behind a sigmoid: binary; else regression).
        regression_tolerance: how far a regression output must move to count as a flip.
        batch_size: samples per forward pass.
    """

    def __init__(
        self,
        model: keras.Model,
        layer_name: str | None = None,
        output: str = "auto",
        regression_tolerance: float = 0.1,
        batch_size: int = 256,
    ):
        if output not in ("auto", *OUTPUT_KINDS):
            raise ValueError(f"output must be 'auto' or one of {', '.join(OUTPUT_KINDS)}; got {output!r}")
        self.model = model
        self.layer = _find_layer(model, layer_name)
        self.output_kind = output
        self.regression_tolerance = regression_tolerance
        self.batch_size = batch_size
        # The states the attention reads ("cut" tensors) and the model from them to the output:
        # the head, run again with changed weights while everything before it stays fixed. The
        # head also takes the model's inputs: Keras computes masks from them in the graph.
        cut = [t for t in keras.tree.flatten(self.layer.input) if t.dtype != "bool"]
        self._raw = [i for i, t in enumerate(model.inputs) if not any(t is c for c in cut)]
        self.encoder = _model(model.inputs, cut)
        try:
            self.head = _model(cut + [model.inputs[i] for i in self._raw], model.outputs[0])
        except ValueError as error:
            raise ValueError(
                "the audit needs the model's output to depend on its inputs only through the attention "
                f"layer's inputs; Keras says: {error}"
            ) from None
        self._replaced = self._compiled(self._head_with)

    # ---- forward passes -------------------------------------------------------------------------

    def _encode(self, x):
        """The head's inputs for `x`: the attention's inputs, then the model inputs it also takes."""
        states = _as_list(self.encoder.predict(x, batch_size=self.batch_size, verbose=0))
        return states + [_as_list(x)[i] for i in self._raw]

    def _head(self, states, weights):
        """The model's output from the attention's inputs with `weights` (as the layer computes
        them, before it arranges them: (samples, rows, steps)) in place of its own."""
        outputs = []
        for part in _batches(len(states[0]), self.batch_size):
            replacement = weights[part].reshape((-1, *self._layer_shape)).astype("float32")
            y = self._replaced([ops.convert_to_tensor(s[part]) for s in states], ops.convert_to_tensor(replacement))
            outputs.append(ops.convert_to_numpy(y))
        return np.concatenate(outputs)

    def _head_with(self, states, replacement):
        """The head's output with the attention's weights replaced by `replacement`."""

        def change(w):
            return ops.cast(replacement, w.dtype)

        with self.layer.weights_changed(change):
            return _call(self.head, states)

    def _compiled(self, function):
        """`function` compiled where the backend can: the audit calls the head hundreds of times,
        and a head that holds a recurrent layer is slow step by step."""
        if keras.backend.backend() != "tensorflow":
            return function
        import tensorflow as tf  # noqa: PLC0415  (its tf.function, on TensorFlow only)

        # The change is made while tracing, so the graph reads `replacement`.
        return tf.function(function, reduce_retracing=True, autograph=False)

    def _recorded_weights(self, states):
        """The attention's normalised weights (before the layer arranges them) and the outputs."""
        seen = []

        def record(w):
            seen.append(ops.convert_to_numpy(w))
            return w

        outputs = []
        for part in _batches(len(states[0]), self.batch_size):
            with self.layer.weights_changed(record):
                outputs.append(ops.convert_to_numpy(_call(self.head, [s[part] for s in states])))
        weights = np.concatenate(seen)
        self._layer_shape = weights.shape[1:]
        rows = weights.reshape((len(weights), -1, weights.shape[-1]))  # (samples, rows, steps)
        return rows, np.concatenate(outputs)

    # ---- what the output is ---------------------------------------------------------------------

    def _units(self, y, rows):
        """The outputs as (samples, units, values): one unit per attention row where each output
        step has its own row (an encoder-decoder), else one per sample."""
        self.per_row = y.ndim == 3 and y.shape[1] == rows and rows > 1
        return y if self.per_row else y.reshape((len(y), 1, -1))

    def _kind(self, y):
        if self.output_kind != "auto":
            return self.output_kind
        if y.shape[-1] > 1:
            return "classes"
        activation = getattr(self.model.layers[-1], "activation", None)
        return "binary" if getattr(activation, "__name__", "") == "sigmoid" else "regression"

    def _change(self, before, after):
        if self.kind == "classes":
            return 0.5 * np.abs(after - before).sum(axis=-1)
        return np.abs(after - before)[..., 0]

    def _decision(self, y):
        if self.kind == "classes":
            return y.argmax(axis=-1)
        if self.kind == "binary":
            return (y[..., 0] > 0.5).astype(int)
        return None

    def _distribution(self, y):
        """The output as a distribution over classes (binary: [1 − p, p]); None for a regression."""
        if self.kind == "binary":
            return np.concatenate([1 - y, y], axis=-1)
        return y if self.kind == "classes" else None

    def _flipped(self, before, after):
        if self.kind == "regression":
            return np.abs(after - before)[..., 0] > self.regression_tolerance
        return self._decision(before) != self._decision(after)

    def _score(self, y, unit, part):
        """The scalar whose gradient explains the decision of `unit` for the samples `part`: the
        predicted class's probability (binary: the positive probability, as Jain & Wallace), or
        the value."""
        y = y[:, unit] if self.per_row else ops.reshape(y, (ops.shape(y)[0], -1))
        if self.kind == "classes":
            return ops.sum(y * ops.one_hot(self._classes[part, unit], ops.shape(y)[-1]), axis=-1)
        return y[:, 0]

    # ---- importances ----------------------------------------------------------------------------

    def _attended_input(self):
        """(index of the model input whose steps the attention reads, the layer whose output the
        gradient is taken on: an Embedding of it, or None for the input itself)."""
        steps = self._steps
        embeddings = [
            layer
            for layer in self.model.layers
            # None: a model of any length (its batches cut to their longest, say)
            if isinstance(layer, keras.layers.Embedding) and layer.output.shape[1] in (steps, None)
        ]
        inputs = self.model.inputs
        if len(embeddings) == 1:
            embedding = embeddings[0]
            matches = [i for i, t in enumerate(inputs) if t is embedding.input]
            if matches:
                return matches[0], embedding
        matches = [i for i, t in enumerate(inputs) if t.shape[1] == steps and "float" in str(t.dtype)]
        if len(matches) != 1:
            raise ValueError(
                f"cannot tell which input the attention's {steps} steps come from: the audit needs one "
                f"Embedding or one float input with {steps} steps"
            )
        return matches[0], None

    def _gradient_importance(self, x):
        """|Σ_d ∂score/∂e_d · e_d| per step, the attention held constant: (samples, units, steps)."""
        x = _as_list(x)
        index, embedding = self._input_index, self._embedding
        if embedding is None:
            through = _model(self.model.inputs, self.model.outputs[0])
            values = x[index].astype("float32")
        else:
            # The model's inputs too: a masking embedding's mask is computed from the tokens.
            through = _model([embedding.output, *self.model.inputs], self.model.outputs[0])
            values = ops.convert_to_numpy(embedding(x[index]))
        importance = np.zeros((len(values), self._unit_count, self._steps))
        for unit in range(self._unit_count):
            for part in _batches(len(values), self.batch_size):

                def score(v, part=part, unit=unit):
                    rest = [a[part] for a in x]
                    inputs = [*rest[:index], v, *rest[index + 1 :]] if embedding is None else [v, *rest]
                    return self._score(_call(through, inputs), unit, part)

                with self.layer.weights_changed(ops.stop_gradient):
                    grad = _gradient(score, values[part])
                product = grad * values[part]
                importance[part, unit] = np.abs(product.reshape((*product.shape[:2], -1)).sum(axis=-1))
        importance = np.where(self._valid[:, None], importance, 0.0)
        return importance / np.maximum(importance.sum(axis=-1, keepdims=True), 1e-30)

    def _weight_gradient(self, states, weights):
        """∂ decision score / ∂ weight, per unit and step, with the states fixed."""
        grads = np.zeros((len(weights), self._unit_count, self._steps))
        for unit in range(self._unit_count):
            for part in _batches(len(weights), self.batch_size):

                def score(w, part=part, unit=unit):
                    def change(_, w=w):
                        return ops.reshape(w, (-1, *self._layer_shape))

                    with self.layer.weights_changed(change):
                        y = _call(self.head, [s[part] for s in states])
                    return self._score(y, unit, part)

                grad = _gradient(score, weights[part].astype("float32"))
                grads[part, unit] = grad[:, unit] if self.per_row else grad.sum(axis=1)
        return grads

    def _leave_one_out(self, x, y):
        """The change of each unit's output when each valid step is left out: (samples, units, steps)."""
        x = _as_list(x)
        index = self._input_index
        samples, steps = np.nonzero(self._valid)
        attended = x[index]
        if np.issubdtype(attended.dtype, np.integer):  # a token: deleted, padded at the front
            left_out = np.zeros_like(attended[samples])
            for row, (sample, step) in enumerate(zip(samples, steps)):
                left_out[row, 1:] = np.delete(attended[sample], step, axis=0)
        else:  # a number: set to 0
            left_out = attended[samples].copy()
            left_out[np.arange(len(samples)), steps] = 0
        inputs = [left_out if i == index else v[samples] for i, v in enumerate(x)]
        inputs = inputs[0] if len(inputs) == 1 else inputs
        after = self._units(self._predict(inputs), self._rows)
        importance = np.zeros((len(y), self._unit_count, self._steps))
        importance[samples, :, steps] = self._change(y[samples], after)
        return importance

    def _predict(self, inputs, cut=None):
        """The model's outputs for changed inputs (as `_keeping` returns them). Where the padding
        is cut (`cut`; by default where `_cuts_padding` said so), rows of similar length share a
        batch, cut to the columns where one of its rows holds a token: a masked model computes the
        same, and a row of 180 words costs 180 steps instead of the full width."""
        if not (self._cut_padding if cut is None else cut):
            return self.model.predict(inputs, batch_size=self.batch_size, verbose=0)
        x = _as_list(inputs)
        filled = x[self._input_index] != 0
        first = np.where(filled.any(axis=1), np.argmax(filled, axis=1), 0)
        end = np.where(filled.any(axis=1), filled.shape[1] - np.argmax(filled[:, ::-1], axis=1), 1)
        order = np.argsort(end - first, kind="stable")
        outputs = []
        for part in _batches(len(order), self.batch_size):
            rows = order[part]
            window = slice(int(first[rows].min()), int(end[rows].max()))
            batch = [v[rows][:, window] if i == self._input_index else v[rows] for i, v in enumerate(x)]
            outputs.append(np.asarray(self.model.predict_on_batch(batch[0] if len(batch) == 1 else batch)))
        predicted = np.concatenate(outputs)
        predicted[order] = predicted.copy()  # back to the callers' order
        return predicted

    def _cuts_padding(self, x):
        """Whether `_predict` may cut the padding: the attended input is of tokens that an
        Embedding masks, the model takes any length, and on the first rows it predicts the same cut
        as padded (a layer between that drops the mask would not)."""
        index, embedding = self._input_index, self._embedding
        if embedding is None or not embedding.mask_zero or self.model.inputs[index].shape[1] is not None:
            return False
        rows = slice(0, min(len(self._valid), 16))
        sample = [v[rows] for v in _as_list(x)]
        padded = self.model.predict(sample[0] if len(sample) == 1 else sample, verbose=0)
        return np.allclose(self._predict(sample, cut=True), padded, rtol=1e-4, atol=1e-5)

    def _valid_for(self, per_unit):
        """The valid steps, one row per unit: broadcast to `per_unit`'s (samples, units, steps)."""
        return np.broadcast_to(self._valid[:, None], per_unit.shape)

    # ---- changes of the weights ---------------------------------------------------------------

    def _without(self, weights, removed):
        """The weights with the steps in `removed` (samples, units, steps) zeroed, renormalised."""
        kept = np.where(removed, 0.0, weights)  # one row per unit, or one row for all
        return kept / np.maximum(kept.sum(axis=-1, keepdims=True), 1e-30)

    def _permutation(self, states, weights, y, permutations, rng):
        changes = np.zeros((permutations, len(y), self._unit_count))
        positions = np.arange(self._steps)
        for round_ in range(permutations):
            order = np.tile(positions, (len(y), 1))
            for sample in range(len(y)):  # only the valid steps trade places
                valid = np.flatnonzero(self._valid[sample])
                order[sample, valid] = rng.permutation(valid)
            permuted = np.take_along_axis(weights, order[:, None, :], axis=-1)
            after = self._units(self._head(states, permuted), self._rows)
            changes[round_] = self._change(y, after)
        return np.median(changes, axis=0)

    def _erase_one(self, states, weights, y, per_unit, rng):
        """(output change, flipped, JS divergence of the output distributions or None) per unit
        when the largest weight, or a random one, is zeroed."""
        unit_valid = self._valid_for(per_unit)
        largest = np.zeros(per_unit.shape, dtype=bool)
        np.put_along_axis(largest, np.where(unit_valid, per_unit, -np.inf).argmax(axis=-1)[..., None], True, axis=-1)
        random = np.zeros(per_unit.shape, dtype=bool)
        random[np.arange(len(y)), :, [rng.choice(np.flatnonzero(v)) for v in self._valid]] = True
        erasure = {}
        for name, removed in (("largest", largest), ("random", random)):
            after = self._units(self._head(states, self._without(weights, removed)), self._rows)
            before_distribution, after_distribution = self._distribution(y), self._distribution(after)
            divergence = None if before_distribution is None else js_divergence(before_distribution, after_distribution)
            erasure[name] = (self._change(y, after), self._flipped(y, after), divergence)
        return erasure

    def _removals_to_flip(self, states, weights, y, ranking):
        """Per unit, the fraction of its valid steps removed (in `ranking` order, highest first)
        when the decision first flips; nan where it never does before one step is left."""
        valid = self._valid_for(ranking)
        rank = np.argsort(np.argsort(-np.where(valid, ranking, -np.inf), axis=-1), axis=-1)
        counts = valid.sum(axis=-1)
        fraction = np.full(counts.shape, np.nan)
        for k in range(1, int(counts.max())):
            open_ = np.isnan(fraction) & (counts > k)
            if not open_.any():
                break
            after = self._units(self._head(states, self._without(weights, valid & (rank < k))), self._rows)
            flipped = open_ & self._flipped(y, after)
            fraction[flipped] = k / counts[flipped]
        return fraction

    # ---- ERASER's comprehensiveness and sufficiency -----------------------------------------------

    def _predicted_probability(self, y, decided):
        """Per sample, the probability that the output `y` gives the class decided on the whole input."""
        if self.kind == "binary":
            return np.where(decided == 1, y[..., 0], 1 - y[..., 0])[:, 0]
        return np.take_along_axis(y, decided[..., None], axis=-1)[:, 0, 0]

    def _keeping(self, x, keep):
        """The inputs with only the steps in `keep` (samples, steps): a token input keeps them in
        order, padded at the front with 0 (as leave-one-out deletes); a number input sets the
        others to 0."""
        x = _as_list(x)
        attended = x[self._input_index]
        if np.issubdtype(attended.dtype, np.integer):
            kept = np.zeros_like(attended)
            for row, (values, mask) in enumerate(zip(attended, keep)):
                chosen = values[mask]
                if len(chosen):
                    kept[row, -len(chosen) :] = chosen
        else:
            kept = np.where(keep.reshape(keep.shape + (1,) * (attended.ndim - 2)), attended, 0).astype(attended.dtype)
        inputs = [kept if i == self._input_index else v for i, v in enumerate(x)]
        return inputs[0] if len(inputs) == 1 else inputs

    def _eraser(self, x, y, rankings, fractions):
        """For each ranking (samples, 1, steps) and fraction f: the top ⌈f·n⌉ of a sample's n valid
        steps removed (comprehensiveness: how much the probability of the decided class drops) or
        kept alone (sufficiency: how much it drops then). Per sample; their means over f are ERASER's
        AOPC. None for a regression or a model with an attention row per output step."""
        if self.kind == "regression" or self._unit_count != 1:
            return None
        decided = self._decision(y)
        before = self._predicted_probability(y, decided)
        counts = self._valid.sum(axis=-1)
        drops = {}
        for name, ranking in rankings.items():
            order = np.argsort(-np.where(self._valid, ranking[:, 0], -np.inf), axis=-1, kind="stable")
            rank = np.argsort(order, axis=-1)  # each step's place in the ranking, 0 the highest
            drops[name] = {"comprehensiveness": [], "sufficiency": []}
            for fraction in fractions:
                top = self._valid & (rank < np.maximum(1, np.ceil(fraction * counts))[:, None])
                for measure, keep in (("comprehensiveness", self._valid & ~top), ("sufficiency", top)):
                    after = self._units(self._predict(self._keeping(x, keep)), self._rows)
                    drops[name][measure].append(before - self._predicted_probability(after, decided))
        return {name: {m: np.stack(v, axis=-1) for m, v in d.items()} for name, d in drops.items()}

    # ---- the audit --------------------------------------------------------------------------------

    # ERASER's shares of the real steps (DeYoung et al. 2020), for comprehensiveness and sufficiency.
    ERASER_FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5)

    def run(self, x, deciding=None, permutations=100, seed=0):
        """The measures over the samples `x` (an array, or a list for a model with several inputs).

        `deciding`: optional 0/1 (samples, steps), or (samples, output steps, steps) for an
        encoder-decoder, marking the steps that decide each answer (a unit with none is left out
        of the hit rates). Returns a JSON-ready dict; `self.details` keeps the per-unit arrays.
        """
        if permutations < 1:
            raise ValueError(f"permutations must be a positive integer; got {permutations!r}")
        rng = np.random.default_rng(seed)
        states = self._encode(x)
        weights, y = self._recorded_weights(states)
        self._rows, self._steps = weights.shape[1], weights.shape[2]
        y = self._units(y, self._rows)
        self.kind = self._kind(y)
        self._unit_count = y.shape[1]
        self._classes = self._decision(y) if self.kind == "classes" else None

        self._input_index, self._embedding = self._attended_input()
        valid = weights.max(axis=1) > 0  # the layer's own mask
        attended = _as_list(x)[self._input_index]
        if self._embedding is not None:
            valid &= attended != 0  # padding the model does not mask
        self._valid = valid
        self._cut_padding = self._cuts_padding(x)
        per_unit = weights if self.per_row else weights.mean(axis=1, keepdims=True)

        gradient = self._gradient_importance(x)
        leave_one_out = self._leave_one_out(x, y)
        weight_gradient = self._weight_gradient(states, weights)

        unit_valid = self._valid_for(per_unit)
        tau = {
            name: np.array(
                [
                    [kendall_tau(a[u], b[u], unit_valid[i, u]) for u in range(self._unit_count)]
                    for i, (a, b) in enumerate(zip(first, second))
                ]
            )
            for name, first, second in (
                ("gradient", per_unit, gradient),
                ("leave_one_out", per_unit, leave_one_out),
                ("gradient_vs_leave_one_out", gradient, leave_one_out),
            )
        }

        erasure = self._erase_one(states, weights, y, per_unit, rng)
        enough = valid.sum(axis=-1) > 1  # with one step there is nothing to renormalise to
        orders = {
            "attention": per_unit,
            "gradient": np.abs(weight_gradient),
            "random": rng.random(per_unit.shape),
        }
        removals = {name: self._removals_to_flip(states, weights, y, ranking) for name, ranking in orders.items()}
        permutation = self._permutation(states, weights, y, permutations, rng)

        # After the rest, with a generator of its own: the measures above stay as they were.
        eraser = self._eraser(
            x,
            y,
            {
                "attention": per_unit,
                "gradient": gradient,
                "leave_one_out": leave_one_out,
                "random": np.random.default_rng([seed, 1]).random(per_unit.shape),
            },
            self.ERASER_FRACTIONS,
        )

        decisions = self._decision(y)
        self.details = {
            "eraser": eraser,
            "weights": per_unit,
            "valid": valid,
            "gradient": gradient,
            "leave_one_out": leave_one_out,
            "tau": tau,
            "permutation": permutation,
            "max_weight": np.where(unit_valid, per_unit, 0).max(axis=-1),
            "erasure": erasure,
            "removals": removals,
            "enough": enough,
            "decisions": decisions,
        }
        result = {
            "samples": len(y),
            "units": int(len(y) * self._unit_count),
            "output": self.kind,
            "steps": int(self._steps),
            "mean_valid_steps": float(valid.sum(axis=-1).mean()),
            "agreement": {name: _agreement(values, decisions) for name, values in tau.items()},
            "permutation": {
                "permutations": int(permutations),
                "median_output_change": _summary(permutation),
                "max_weight": _summary(self.details["max_weight"]),
            },
            "erasure": {
                **{
                    name: {
                        "output_change": _summary(change[enough]),
                        # Serrano & Smith's measure of the change, for classifiers.
                        "js_divergence": None if divergence is None else _summary(divergence[enough]),
                        "flip_rate": float(flips[enough].mean()) if enough.any() else None,
                    }
                    for name, (change, flips, divergence) in erasure.items()
                },
                "largest_changes_more_than_random": float((erasure["largest"][0] > erasure["random"][0])[enough].mean())
                if enough.any()
                else None,
                "removals_to_flip": {name: _removal_summary(f) for name, f in removals.items()},
            },
            "ground_truth": None,
            "eraser": None
            if eraser is None
            else {
                "fractions": list(self.ERASER_FRACTIONS),
                **{
                    measure: {
                        name: {
                            "by_fraction": [float(v) for v in drops[measure].mean(axis=0)],
                            "aopc": float(drops[measure].mean()),
                        }
                        for name, drops in eraser.items()
                    }
                    for measure in ("comprehensiveness", "sufficiency")
                },
            },
        }
        padding = np.where(unit_valid, 0.0, per_unit).sum(axis=-1)
        if padding.max() > 0:
            result["attention_on_padding"] = _summary(padding)
        if deciding is not None:
            result["ground_truth"] = self._hit_rates(
                deciding,
                {
                    "attention": per_unit,
                    "gradient": gradient,
                    "leave_one_out": leave_one_out,
                },
            )
        return result

    def _hit_rates(self, deciding, explanations):
        deciding = np.asarray(deciding, dtype=bool)
        deciding = deciding.reshape((len(deciding), -1, self._steps))
        if deciding.shape[1] != self._unit_count:
            deciding = deciding.any(axis=1, keepdims=True)
        known = deciding.any(axis=-1)
        rates = {}
        for name, importance in explanations.items():
            valid = self._valid_for(importance)
            scores = np.where(valid, importance, -np.inf)
            # Ties at the top (uniform weights: every step) are broken at random: the expected hit.
            top = scores == scores.max(axis=-1, keepdims=True)
            hit = (top & deciding).sum(axis=-1) / top.sum(axis=-1)
            rates[name] = float(hit[known].mean()) if known.any() else None
        return {"hit_rate": rates, "units": int(known.sum())}


def _summary(values):
    values = np.asarray(values, dtype="float64").ravel()
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    return {"mean": float(values.mean()), "std": float(values.std()), "median": float(np.median(values))}


def _agreement(tau_and_p, decisions):
    """Mean ± std of τ, and the fraction with p ≤ 0.05, overall and by predicted class."""

    def summarise(pairs):
        tau, p = pairs[..., 0].ravel(), pairs[..., 1].ravel()
        defined = ~np.isnan(tau)
        return {
            "mean": float(tau[defined].mean()) if defined.any() else None,
            "std": float(tau[defined].std()) if defined.any() else None,
            "significant": float((p[defined] <= 0.05).mean()) if defined.any() else None,
            "undefined": int((~defined).sum()),  # constant attention or importance: no ranking
        }

    result = summarise(tau_and_p)
    if decisions is not None:
        result["by_class"] = {str(c): summarise(tau_and_p[decisions == c]) for c in np.unique(decisions)}
    return result


def _removal_summary(fractions):
    flipped = ~np.isnan(fractions)
    return {
        "flipped": float(flipped.mean()),
        "median_fraction_removed": float(np.median(fractions[flipped])) if flipped.any() else None,
    }
