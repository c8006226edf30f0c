"""The types the library's annotations share.

Keras has no types (no stubs, no py.typed): a backend tensor (TensorFlow's, JAX's or PyTorch's, or
a symbolic `KerasTensor` while a model is built) is `Any` to mypy. `Tensor` says where one is
meant; the NumPy arrays of the audit are typed as NumPy's own.
"""

from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

# A Keras / backend tensor: Any, since Keras has no types.
Tensor: TypeAlias = Any
# A Keras shape: a dimension is None where it is not known (the batch, a free number of steps).
Shape: TypeAlias = tuple[int | None, ...]
# What `SoftmaxAttention.weights_changed` passes the normalised weights through.
WeightsChange: TypeAlias = Callable[[Tensor], Tensor]

FloatArray: TypeAlias = NDArray[np.floating[Any]]
BoolArray: TypeAlias = NDArray[np.bool_]
IntArray: TypeAlias = NDArray[np.integer[Any]]
# A model input as NumPy: tokens (integers) or numbers.
Array: TypeAlias = NDArray[Any]
# What a model takes: one array, or a list (or tuple) of one per input.
ModelInputs: TypeAlias = Array | list[Array] | tuple[Array, ...]
