"""Run as a script under any Keras backend: the audit of a saved model, as JSON on stdout.

KERAS_BACKEND=jax python tests/backend_audit.py MODEL.keras DATA.npz
"""

import json
import sys

import keras
import numpy as np

from attention.audit import AttentionAudit

if __name__ == "__main__":
    model = keras.models.load_model(sys.argv[1])
    data = np.load(sys.argv[2])
    deciding = data["deciding"] if "deciding" in data else None
    audit = AttentionAudit(model)
    result = audit.run(data["x"], deciding=deciding, permutations=10, seed=0)
    arrays = {name: audit.details[name].tolist() for name in ("weights", "gradient", "leave_one_out")}
    print(json.dumps({"backend": keras.backend.backend(), "result": result, "arrays": arrays}))
