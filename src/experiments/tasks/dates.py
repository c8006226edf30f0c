"""Date translation (datalogue, original 003): human-readable dates in many formats and locales →
`YYYY-MM-DD`.

A bidirectional LSTM reads the characters; a decoder LSTM reads the date written so far, and at
each output step its state scores every encoder state (the chosen score function) and predicts
the next character from its state and the context. Training feeds the true previous characters
(teacher forcing); evaluation feeds the model's own (greedy decoding). The attention should
look at the day when writing the day, at the month (name or number) when writing the month, and
at the year when writing the year.
"""

from itertools import cycle, islice

import keras
import numpy as np

from attention import predict_in_batches
from experiments.run.config import ConfigError
from experiments.run.task import Splits, Task
from experiments.tasks.dates_data import (
    FIELD_NAMES,
    ISO_FIELDS,
    OTHER,
    CharVocabulary,
    check_options,
    day_pools,
    probe_dates,
    sample_dates,
    vocabularies_json,
)

ISO_LENGTH = len("YYYY-MM-DD")
OUTPUT_STEPS = ISO_LENGTH + 1  # and the end token
PREDICT_BATCH = 512


def _encoded(samples, source, target, max_length):
    """((text ids, previous characters), next characters) for a model fed by teacher forcing."""
    x = source.encode(samples.texts, max_length)
    previous = target.encode(samples.targets, OUTPUT_STEPS, start=True)[:, :OUTPUT_STEPS]
    following = target.encode(samples.targets, OUTPUT_STEPS, end=True)
    return [x, previous], following


def _field_map(samples, max_length):
    """(samples, max_length): the date field of each text character (OTHER on padding)."""
    fields = np.zeros((len(samples.fields), max_length), dtype="int8")
    for row, tags in enumerate(samples.fields):
        fields[row, : len(tags)] = tags
    return fields


def greedy_decode(model, text_ids):
    """The model's own translation, one character at a time: (next characters, previous ones).

    Each step runs the whole teacher-forced model with the characters written so far; the
    decoder is causal, so the steps not yet written change nothing.
    """
    previous = np.zeros((len(text_ids), OUTPUT_STEPS), dtype="int32")
    previous[:, 0] = CharVocabulary.START
    written = np.zeros_like(previous)
    for step in range(OUTPUT_STEPS):
        probabilities = predict_in_batches(model, [text_ids, previous], PREDICT_BATCH)
        written[:, step] = probabilities[:, step].argmax(axis=-1)
        if step + 1 < OUTPUT_STEPS:
            previous[:, step + 1] = written[:, step]
    return written, previous


class Dates(Task):
    """The dates task's data, model and where its attention should look."""

    def make_data(self, cfg, rng):
        d = cfg.data
        try:
            check_options(d.formats, d.locales, d.cases, d.max_length)
            train_days, validation_days, test_days = day_pools(d.first_day, d.last_day, d.held_out, rng)
        except ValueError as error:
            raise ConfigError(error) from None
        options = {"formats": list(d.formats), "locales": list(d.locales), "case_weights": dict(d.cases)}
        train = sample_dates(rng, train_days, cfg.samples, **options)
        validation = sample_dates(rng, validation_days, d.validation_samples, **options)
        test = sample_dates(rng, test_days, cfg.test_samples, **options)
        probe = probe_dates(rng, test_days, list(islice(cycle(d.probe_examples), cfg.probe_samples)))

        source, target = CharVocabulary.from_texts(train.texts), CharVocabulary.from_texts(train.targets)
        return Splits(
            train=_encoded(train, source, target, d.max_length),
            validation=_encoded(validation, source, target, d.max_length),
            test=_encoded(test, source, target, d.max_length),
            probe=_encoded(probe, source, target, d.max_length),
            extras={
                "source": source,
                "target": target,
                "test_fields": _field_map(test, d.max_length),
            },
        )

    def build_model(self, cfg, attention, data):
        m = cfg.model
        source, target = data.extras["source"], data.extras["target"]
        text = keras.Input((cfg.data.max_length,), dtype="int32", name="text")
        previous = keras.Input((OUTPUT_STEPS,), dtype="int32", name="previous_characters")

        x = keras.layers.Embedding(len(source), m.embedding_dim, mask_zero=True)(text)
        encoded, *final_states = keras.layers.Bidirectional(
            keras.layers.LSTM(m.encoder_units, return_sequences=True, return_state=True)
        )(x)
        forward_h, forward_c, backward_h, backward_c = final_states
        # The decoder is twice the encoder's size, so that every score (dot included) can compare
        # its states with the encoder's; it starts from the encoder's final states.
        decoder_state = [
            keras.layers.Concatenate()([forward_h, backward_h]),
            keras.layers.Concatenate()([forward_c, backward_c]),
        ]
        y = keras.layers.Embedding(len(target), m.embedding_dim)(previous)
        decoded = keras.layers.LSTM(2 * m.encoder_units, return_sequences=True)(y, initial_state=decoder_state)
        context = attention([decoded, encoded])
        hidden = keras.layers.Dense(2 * m.encoder_units, activation="tanh")(
            keras.layers.Concatenate()([context, decoded])
        )
        outputs = keras.layers.Dense(len(target), activation="softmax")(hidden)
        return keras.Model([text, previous], outputs, name="dates")

    def evaluate(self, cfg, model, data):
        """Greedy decoding of the held-out dates: whole dates right, and characters right (the end
        token included, padding excluded)."""
        (text_ids, _), expected = data.test
        written, _ = greedy_decode(model, text_ids)
        target = data.extras["target"]
        exact = [target.decode(w) == target.decode(e) for w, e in zip(written, expected)]
        counted = expected != CharVocabulary.PAD
        return {
            "exact_match": float(np.mean(exact)),
            "char_accuracy": float((written == expected)[counted].mean()),
        }

    def attention_quality(self, cfg, probe, data, attend):
        """For each output digit of the held-out dates (teacher-forced): does the attention's argmax
        fall on the field it writes (the day digits on the day, ...), and how much weight lies there."""
        weights = attend(data.test[0])[:, :ISO_LENGTH]  # (samples, digits and dashes, text characters)
        fields = data.extras["test_fields"]
        characters = (data.test[0][0] != CharVocabulary.PAD).sum(axis=1)  # the padding is masked
        quality, hits_all, chance_all, mass_all = {}, [], [], []
        for field, name in FIELD_NAMES.items():
            steps = np.flatnonzero(ISO_FIELDS == field)
            on_field = (fields == field)[:, None, :]  # (samples, 1, characters)
            chosen = np.take_along_axis(on_field, weights[:, steps].argmax(axis=-1)[..., None], axis=-1)[..., 0]
            mass = (weights[:, steps] * on_field).sum(axis=-1)
            quality[f"{name}_hit_rate"] = float(chosen.mean())
            hits_all.append(chosen.ravel())
            # An argmax drawn at random among the text's characters hits the field this often.
            chance_all.append(np.repeat(on_field[:, 0].sum(axis=1) / characters, len(steps)))
            mass_all.append(mass.ravel())
        return {
            "field_hit_rate": float(np.concatenate(hits_all).mean()),
            "field_hit_rate_chance": float(np.concatenate(chance_all).mean()),
            "mass_on_field": float(np.concatenate(mass_all).mean()),
            **quality,
            "samples": len(weights),
        }

    def deciding_steps(self, cfg, data, count):
        """(count, output characters, text characters): for each output character of the first
        `count` test dates, the text characters of the field it writes (none for dashes and the end)."""
        fields = data.extras["test_fields"][:count]
        written = np.append(ISO_FIELDS, OTHER)  # the end token writes no field
        return (fields[:, None, :] == written[None, :, None]) & (written != OTHER)[None, :, None]

    def input_tokens(self, cfg, data, x):
        """The characters of each text (None for padding)."""
        return [data.extras["source"].tokens(row) for row in x[0]]

    def output_tokens(self, cfg, data, y):
        """The characters of each target date, with the end token."""
        target = data.extras["target"]
        return [[target.token(i) for i in row if i != CharVocabulary.PAD] for row in y]

    def artifacts(self, cfg, data):
        """The vocabularies, which the saved model needs to read and write text."""
        return {"vocabulary.json": vocabularies_json(data.extras["source"], data.extras["target"])}
