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


def compiled_gradient(function: Callable[..., Tensor]) -> Callable[..., FloatArray]:
    """`gradient` for a search that takes hundreds of gradients of one function: returns
    `grad(x, *constants)`, the gradient of `function(x, *constants)` summed with respect to `x`,
    as NumPy. It is traced once into a graph where the backend can (`tf.function`, `jax.jit`),
    which also drops what the result does not need; on PyTorch it runs as `gradient` does."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf  # noqa: PLC0415  (the backend in use, already loaded by Keras)

        @tf.function(reduce_retracing=True, autograph=False)  # type: ignore[untyped-decorator]
        def traced(value: Tensor, *constants: Tensor) -> Tensor:
            with tf.GradientTape() as tape:
                tape.watch(value)
                total = tf.reduce_sum(function(value, *constants))
            return tape.gradient(total, value)

        def on_tensorflow(x: ArrayLike, *constants: ArrayLike) -> FloatArray:
            grad: FloatArray = traced(*map(tf.convert_to_tensor, (x, *constants))).numpy()
            return grad

        return on_tensorflow
    if backend == "jax":
        import jax  # noqa: PLC0415  (the backend in use, already loaded by Keras)

        jitted = jax.jit(jax.grad(lambda v, *constants: function(v, *constants).sum()))
        return lambda x, *constants: np.asarray(jitted(*map(jax.numpy.asarray, (x, *constants))))
    return lambda x, *constants: gradient(lambda v: function(v, *constants), x)
