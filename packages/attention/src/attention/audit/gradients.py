"""∂ Σ f(x) / ∂x with the backend's own autodiff: the one place the audit knows the backend."""

from collections.abc import Callable

import keras
import numpy as np
from numpy.typing import ArrayLike

from attention._types import FloatArray, Tensor


def gradient(function: Callable[[Tensor], Tensor], x: ArrayLike) -> FloatArray:
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
        grad: FloatArray = tape.gradient(total, value).numpy()
        return grad
    if backend == "jax":
        import jax  # noqa: PLC0415  (the backend in use, already loaded by Keras)

        return np.asarray(jax.grad(lambda v: function(v).sum())(jax.numpy.asarray(x)))
    if backend == "torch":
        value = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)  # on Keras' device
        function(value).sum().backward()
        grad = value.grad.detach().cpu().numpy()
        return grad
    raise NotImplementedError(f"the audit's gradients need TensorFlow, JAX or PyTorch; this is {backend!r}")
