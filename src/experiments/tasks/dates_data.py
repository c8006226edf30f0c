"""Human-readable dates and their ISO form (the date translation of datalogue, original 003), made
with Babel.

Each sample is one calendar day written in one (locale, pattern) pair, sometimes upper- or
lower-cased; the target is `YYYY-MM-DD`. Patterns are Babel (CLDR) date patterns: the locale's
own `medium`, `long` and `full` formats, or explicit ones such as `dd.MM.yy`. Years are written
with `y`/`yyyy` (the calendar year), never `Y` (the week-based year that mislabels the last days
of December in the original).

Every character of a text is tagged with the date field it belongs to (year, month, day or none),
so that the task can check where the attention looks.
"""

import datetime
import json
from dataclasses import dataclass

import numpy as np
from babel import Locale, UnknownLocaleError
from babel.dates import DateTimeFormat, get_date_format, tokenize_pattern

OTHER, YEAR, MONTH, DAY = 0, 1, 2, 3
FIELD_NAMES = {YEAR: "year", MONTH: "month", DAY: "day"}
_FIELD_OF_PATTERN_LETTER = {"y": YEAR, "M": MONTH, "L": MONTH, "d": DAY}
STANDARD_FORMATS = ("short", "medium", "long", "full")
ISO_FIELDS = np.array([YEAR] * 4 + [OTHER] + [MONTH] * 2 + [OTHER] + [DAY] * 2)  # of "YYYY-MM-DD"


def _pattern(style, locale):
    """A Babel pattern: the locale's own for 'medium', 'long', ...; otherwise `style` itself."""
    return get_date_format(style, locale=locale).pattern if style in STANDARD_FORMATS else style


def render(date, style, locale):
    """(text, fields): `date` written in `style` for `locale`, and the field of each character."""
    formatter = DateTimeFormat(date, locale)
    text, fields = "", []
    for kind, value in tokenize_pattern(_pattern(style, locale)):
        if kind == "field":
            letter, count = value
            piece = formatter[letter * count]
            fields += [_FIELD_OF_PATTERN_LETTER.get(letter, OTHER)] * len(piece)
        else:
            piece = value
            fields += [OTHER] * len(piece)
        text += piece
    return text, fields


def check_options(formats, locales, cases, max_length):
    """Raises ValueError (one line: what is wrong, what is accepted) for a locale Babel does not
    know, a format that leaves out the day, month or year, a case name other than as_is, upper
    or lower, or a text longer than `max_length` (tried on a day of every month and weekday)."""
    for locale in locales:
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError):
            raise ValueError(
                f"task.data.locales: unknown locale {locale!r}; Babel names them like en_US, fr_FR, de"
            ) from None
    unknown_cases = set(cases) - {"as_is", "upper", "lower"}
    if unknown_cases:
        raise ValueError(f"task.data.cases: unknown {sorted(unknown_cases)}; accepted: as_is, upper, lower")
    days = [datetime.date(2018, month, 24 + month % 5) for month in range(1, 13)]  # every month, every weekday
    for style in formats:
        for locale in locales:
            texts = [render(day, style, locale) for day in days]
            missing = [FIELD_NAMES[f] for f in FIELD_NAMES if f not in texts[0][1]]
            if missing:
                raise ValueError(
                    f"task.data.formats: {style!r} does not write the {' and '.join(missing)}; a format must write "
                    "the day, the month and the year (Babel patterns such as 'd MMM yyyy', or medium, long, full)"
                )
            longest = max(texts, key=lambda t: len(t[0]))[0]
            if len(longest) > max_length:
                raise ValueError(
                    f"task.data.formats: {style!r} in {locale} writes {longest!r} ({len(longest)} characters), "
                    f"longer than task.data.max_length={max_length}"
                )


def recase(text, case):
    """The text as written ('as_is'), or upper- or lower-cased where that keeps every character
    in its place (it does for every month and day name here; 'ß'.upper() would not)."""
    changed = {"as_is": text, "upper": text.upper(), "lower": text.lower()}[case]
    return changed if len(changed) == len(text) else text


def day_pools(first, last, held_out, rng):
    """Every day from `first` to `last`, split at random into (train, validation, test) days.

    `held_out` is the fraction of days kept apart for each of validation and test, so that a
    model is scored on dates it never saw, in any format.
    """
    try:
        first, last = datetime.date.fromisoformat(str(first)), datetime.date.fromisoformat(str(last))
    except ValueError:
        raise ValueError(
            f"task.data.first_day and last_day must be dates like 1950-01-01, got {first!r} and {last!r}"
        ) from None
    if last < first or not 0 < held_out < 0.5:
        raise ValueError(
            f"need first_day <= last_day and 0 < held_out < 0.5; got {first} to {last}, held_out={held_out}"
        )
    days = first.toordinal() + rng.permutation(last.toordinal() - first.toordinal() + 1)
    cut = max(1, round(held_out * len(days)))
    return days[2 * cut :], days[cut : 2 * cut], days[:cut]


@dataclass
class DateSamples:
    """Texts, their ISO targets, and the date field of each text character."""

    texts: list
    targets: list
    fields: list


def sample_dates(rng, days, count, formats, locales, case_weights):
    """`count` samples: a day from `days`, a format, a locale and a case, each drawn uniformly
    (the case by `case_weights`: {'as_is': w, 'upper': w, 'lower': w})."""
    cases, weights = zip(*case_weights.items())
    weights = np.asarray(weights, dtype=float) / sum(weights)
    picks = zip(
        rng.choice(days, count),
        rng.integers(len(formats), size=count),
        rng.integers(len(locales), size=count),
        rng.choice(len(cases), count, p=weights),
    )
    samples = DateSamples([], [], [])
    for day, style, locale, case in picks:
        date = datetime.date.fromordinal(int(day))
        text, fields = render(date, formats[style], locales[locale])
        samples.texts.append(recase(text, cases[case]))
        samples.targets.append(date.isoformat())
        samples.fields.append(fields)
    return samples


def probe_dates(rng, days, examples):
    """One held-out day per (locale, format) pair of `examples`, written as it says."""
    samples = DateSamples([], [], [])
    for (locale, style), day in zip(examples, rng.choice(days, len(examples), replace=False)):
        date = datetime.date.fromordinal(int(day))
        text, fields = render(date, style, locale)
        samples.texts.append(text)
        samples.targets.append(date.isoformat())
        samples.fields.append(fields)
    return samples


class CharVocabulary:
    """Characters ↔ ids, with explicit padding (0), start, end and unknown tokens.

    Built from training texts only: a character never seen in training reads as unknown.
    """

    PAD, START, END, UNKNOWN = 0, 1, 2, 3
    SPECIALS = ("<pad>", "<start>", "<end>", "<unk>")

    def __init__(self, chars):
        self.chars = list(chars)
        self.ids = {c: i for i, c in enumerate(self.chars, start=len(self.SPECIALS))}

    @classmethod
    def from_texts(cls, texts):
        return cls(sorted(set("".join(texts))))

    def __len__(self):
        return len(self.SPECIALS) + len(self.chars)

    def encode(self, texts, length, start=False, end=False):
        """(len(texts), length) int32 ids, padded at the end. Raises ValueError on a text that
        does not fit, naming it and the length."""
        ids = np.full((len(texts), length), self.PAD, dtype="int32")
        for row, text in enumerate(texts):
            tokens = [self.START] * start + [self.ids.get(c, self.UNKNOWN) for c in text] + [self.END] * end
            if len(tokens) > length:
                raise ValueError(f"{text!r} is {len(text)} characters; at most {length - start - end} fit")
            ids[row, : len(tokens)] = tokens
        return ids

    def token(self, i):
        """The character (or special token's name) of one id."""
        i = int(i)
        return self.SPECIALS[i] if i < len(self.SPECIALS) else self.chars[i - len(self.SPECIALS)]

    def tokens(self, ids):
        """The token of each id of one row, None for padding (for figures and tick labels)."""
        return [self.token(i) if i != self.PAD else None for i in ids]

    def decode(self, ids):
        """The text of one row of ids: stops at the end token, skips start and padding."""
        text = []
        for i in ids:
            if i == self.END:
                break
            if i not in (self.PAD, self.START):
                text.append(self.token(i))
        return "".join(text)

    def to_dict(self):
        return {"specials": list(self.SPECIALS), "chars": self.chars}

    @classmethod
    def from_dict(cls, data):
        return cls(data["chars"])


def vocabularies_json(source, target):
    """The text of `vocabulary.json`: both vocabularies, which a saved model needs beside it."""
    return json.dumps({"source": source.to_dict(), "target": target.to_dict()}, ensure_ascii=False) + "\n"


def read_vocabularies(path):
    """(source, target) vocabularies from a run's `vocabulary.json`."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return CharVocabulary.from_dict(data["source"]), CharVocabulary.from_dict(data["target"])
