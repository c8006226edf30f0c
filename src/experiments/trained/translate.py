"""`experiments translate "Saturday 9 May 2018"`: a trained dates model translates a text
and draws where it looked.

Uses the newest completed `task=dates` run under `outputs/` unless `--run DIR` names one. Prints
the ISO date and writes the alignment heatmap (output characters × input characters) to
`outputs/translations/<text>.png` unless `--out FILE` says where.
"""

import re
import sys
from pathlib import Path

from matplotlib.figure import Figure

from experiments.run.errors import SuiteError, ToolParser, report
from experiments.run.files import load_saved_model, out_directory
from experiments.run.plots import alignment_panel
from experiments.run.quiet import start_tensorflow
from experiments.tasks.dates_data import CharVocabulary, read_vocabularies
from experiments.trained.load import newest_completed_run


class TranslateError(SuiteError, RuntimeError):
    """A one-line message for the user."""


def newest_dates_run(root):
    """The most recently finished completed dates run under `root`, or a TranslateError."""
    run_dir = newest_completed_run(root, "dates")
    if run_dir is None:
        raise TranslateError(
            f"no trained dates model under {root}/; train one with `make dates` or name one with --run DIR"
        )
    return run_dir


def _file_name(text):
    return (re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-") or "text") + ".png"


def translate(run_dir, text):
    """(ISO text, input tokens, output tokens, weights (outputs, inputs)) for one text."""
    run_dir = Path(run_dir)
    for name in ("model.keras", "vocabulary.json"):
        if not (run_dir / name).is_file():
            raise TranslateError(f"{run_dir} is not a trained dates run: it has no {name}")
    if not text.strip():
        raise TranslateError("the text to translate is empty; give a date such as 'Saturday 9 May 2018'")

    start_tensorflow()  # after the cheap checks
    # TensorFlow starts here, once start_tensorflow has quieted it.

    from attention import attention_weights  # noqa: PLC0415
    from experiments.tasks.dates import greedy_decode  # noqa: PLC0415

    source, target = read_vocabularies(run_dir / "vocabulary.json")
    model = load_saved_model(run_dir, TranslateError)
    max_length = model.inputs[0].shape[1]
    try:
        text_ids = source.encode([text], max_length)
    except ValueError as error:
        raise TranslateError(f"{error} in this model") from None
    unknown = sorted({c for c in text if c not in source.ids})
    if unknown:
        print(f"note: never seen in training, read as <unk>: {' '.join(map(repr, unknown))}", file=sys.stderr)

    written, previous = greedy_decode(model, text_ids)
    weights = attention_weights(model, "attention", [text_ids, previous])[0]
    outputs = [target.token(i) for i in written[0]]
    if CharVocabulary.SPECIALS[CharVocabulary.END] in outputs:
        outputs = outputs[: outputs.index(CharVocabulary.SPECIALS[CharVocabulary.END]) + 1]
    inputs = source.tokens(text_ids[0])
    return target.decode(written[0]), inputs, outputs, weights


def _figure_file(out):
    """`--out` as the heatmap's file: not a directory, and of a format matplotlib writes."""
    out, formats = Path(out), Figure().canvas.get_supported_filetypes()
    out_directory(out.parent, TranslateError)  # no file where its folder would be
    if out.is_dir():
        raise TranslateError(f"--out {out} is a directory: give the heatmap's file, such as {out / 'heatmap.png'}")
    if out.suffix.lstrip(".").lower() not in formats:
        raise TranslateError(f"--out {out}: the heatmap is written as {', '.join(sorted(formats))}; give one of them")
    return out


def main(argv=None):
    parser = ToolParser("translate", description=__doc__.splitlines()[0])
    parser.add_argument("text", help="a date as a person writes it, e.g. 'Saturday 9 May 2018'")
    parser.add_argument("--run", help="a dates run directory (default: the newest under --outputs)")
    parser.add_argument("--outputs", default="outputs", help="where to look for runs (default: outputs)")
    parser.add_argument("--out", help="the heatmap's file (default: OUTPUTS/translations/<text>.png)")
    args = parser.parse_args(argv)
    try:
        out = _figure_file(args.out) if args.out else Path(args.outputs) / "translations" / _file_name(args.text)
        run_dir = Path(args.run) if args.run else newest_dates_run(args.outputs)
        iso, inputs, outputs, weights = translate(run_dir, args.text)
    except TranslateError as error:
        return report(error)

    out.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(max(5.0, 0.3 * len(args.text) + 2), 4), layout="constrained")
    ax = fig.subplots()
    image = alignment_panel(ax, weights, inputs, outputs, f"{args.text!r} → {iso}")
    fig.colorbar(image, ax=ax, label="attention weight")
    fig.savefig(out, dpi=110)
    print(f"{args.text} → {iso}")
    print(f"alignment: {out} (model: {run_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
