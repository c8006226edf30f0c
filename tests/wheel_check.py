"""Run inside a virtual environment that holds the layer library's wheel, Keras and JAX, and no
TensorFlow (test_wheel.py makes it): train, save, reload, read the weights, audit. JSON on stdout.

    KERAS_BACKEND=jax python wheel_check.py DIR
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

import attention
from attention import Attention, attention_weights
from attention.audit import AttentionAudit

if __name__ == "__main__":
    out = Path(sys.argv[1])
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.beta(0.1, 1.0, size=(256, 10, 1)).astype("float32")
    inputs = keras.Input((10, 1))
    states = keras.layers.LSTM(16, return_sequences=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(Attention(16, name="attention")(states)))
    model.compile("adam", "mae")
    history = model.fit(x, x.max(axis=(1, 2)), epochs=3, batch_size=32, verbose=0)
    model.save(out / "model.keras")
    np.save(out / "x.npy", x[:8])
    np.save(out / "predicted.npy", model.predict(x[:8], verbose=0))
    # Reloaded in a process of its own, which imports the library and nothing else.
    reload = (
        "import sys, keras, numpy as np, attention\n"
        "model = keras.models.load_model(sys.argv[1])\n"
        "np.save(sys.argv[2], model.predict(np.load(sys.argv[3]), verbose=0))\n"
    )
    subprocess.run(
        [sys.executable, "-c", reload, str(out / "model.keras"), str(out / "reloaded.npy"), str(out / "x.npy")],
        check=True,
    )
    weights = attention_weights(keras.models.load_model(out / "model.keras"), "attention", x[:8])
    audit = AttentionAudit(model).run(x[:32], permutations=5)
    print(
        json.dumps(
            {
                "backend": keras.backend.backend(),
                "version": attention.__version__,
                "tensorflow": importlib.util.find_spec("tensorflow") is not None,
                "experiments": importlib.util.find_spec("experiments") is not None,
                "loss": [float(v) for v in history.history["loss"]],
                "same_predictions": bool(
                    np.allclose(np.load(out / "reloaded.npy"), np.load(out / "predicted.npy"), atol=1e-6)
                ),
                "weights_shape": list(weights.shape),
                "weights_sum": [float(v) for v in weights.sum(axis=-1)],
                "audit_tau_gradient": audit["agreement"]["gradient"]["mean"],
                "audit_samples": audit["samples"],
            }
        )
    )
