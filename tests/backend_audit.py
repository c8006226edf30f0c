"""Run as a script under any Keras backend: the audit of saved models, as one JSON line each on
stdout.

KERAS_BACKEND=jax python tests/backend_audit.py MODEL.keras DATA.npz [MODEL.keras DATA.npz ...]
"""

import json
import sys

import keras
import numpy as np

from attention.audit import AttentionAudit


def audit_saved(model_file, data_file):
    """The audit of the model saved at `model_file` on the samples of `data_file`: the backend's
    name, the audit's result and its per-unit weights and importances, as JSON-ready values."""
    model = keras.models.load_model(model_file)
    data = np.load(data_file)
    deciding = data["deciding"] if "deciding" in data else None
    audit = AttentionAudit(model)
    result = audit.run(data["x"], deciding=deciding, permutations=10, seed=0)
    arrays = {name: audit.details[name].tolist() for name in ("weights", "gradient", "leave_one_out")}
    return {"backend": keras.backend.backend(), "result": result, "arrays": arrays}


if __name__ == "__main__":
    files = sys.argv[1:]
    for model_file, data_file in zip(files[::2], files[1::2], strict=True):
        print(json.dumps(audit_saved(model_file, data_file)), flush=True)
