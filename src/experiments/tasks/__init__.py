"""One module per task. Each answers three questions, asked by the runner in this order:

- `make_data(cfg, rng)`: `((x_train, y_train), (x_test, y_test))` as NumPy arrays;
- `build_model(cfg, attention)`: a Keras model around the given attention layer;
- `attention_quality(cfg, weights, x_probe, y_probe)`: where the attention should look, and how
  close the probe's weights came (a JSON-ready dict).

`cfg` is the task's own config node (`conf/task/<name>.yaml`).
"""
