"""∂ Σ f(x) / ∂x with the backend's own autodiff: the one place the audit knows the backend."""

import keras
import numpy as np


def gradient(function, x):
    """The gradient of `function(x)` summed, with respect to the array `x`, as NumPy.

    `function` takes and returns backend tensors; it runs under TensorFlow's GradientTape,
    `jax.grad` or PyTorch's autograd, whichever backend Keras runs on."""
    backend = keras.backend.backend()
    x = np.asarray(x)
    if backend == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415  (the backend in use, already loaded by Keras)

        value = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(value)
            total = tf.reduce_sum(function(value))
        return tape.gradient(total, value).numpy()
    if backend == "jax":
        import jax  # noqa: PLC0415  (the backend in use, already loaded by Keras)

        return np.asarray(jax.grad(lambda v: function(v).sum())(jax.numpy.asarray(x)))
    if backend == "torch":
        value = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)  # on Keras' device
        function(value).sum().backward()
        return value.grad.detach().cpu().numpy()
    raise NotImplementedError(f"the audit's gradients need TensorFlow, JAX or PyTorch; this is {backend!r}")
