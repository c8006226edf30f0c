"""New reviews for `explain`, as a user gives them: the text of one review, or a file with one
review per line. Each IMDB task then reads their words as its training reviews were read."""

import sys
from pathlib import Path

# A missing file with one of these endings is refused rather than read as the text of a review.
FILE_ENDINGS = (".txt", ".csv", ".tsv", ".json", ".npz", ".npy")


def looks_like_a_path(text):
    """A file's ending, or one word with a path separator under a directory that exists
    ("data/reviews" where data/ is there; a review's "7/10", "and/or" or "a/b testing" stays text)."""
    one_word = len(text.split()) == 1
    under_a_directory = ("/" in text or "\\" in text) and Path(text).parent.is_dir()
    return text.lower().endswith(FILE_ENDINGS) or (one_word and under_a_directory)


def review_texts(source):
    """The reviews that `source` gives: the lines of the file it names, or itself as one review.
    ValueError, in one line, for a directory, a file that is not text, a missing file, or nothing
    to read."""
    texts = _texts(str(source))
    if not any(text.strip() for text in texts):
        raise ValueError("the review to explain is empty: give a text, or a file with one review per line")
    return texts


def _texts(text):
    if not text.strip():  # Path("") is the current directory: an empty review, refused as such
        return [text]
    try:
        path = Path(text)
        is_file, is_dir = path.is_file(), path.is_dir()
    except OSError:  # a review longer than a file name may be (ENAMETOOLONG) is text
        return [text]
    if is_dir:
        raise ValueError(f"{text} is a directory: give a file with one review per line, or the review's text")
    if is_file:
        try:
            return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except UnicodeDecodeError:
            raise ValueError(f"{text} is not a text file (UTF-8): give a file with one review per line") from None
    if looks_like_a_path(text):
        raise ValueError(f"there is no file {text}: give a file with one review per line, or the review's text itself")
    return [text]


def warn_of_unknown_words(counts, unknown_token):
    """One line on stderr where most words of a review are outside the vocabulary: the model reads
    them all as one unknown word (`unknown_token`), and its prediction then says little about the
    text. `counts`: (unknown words, words) of each review."""
    mostly = [i for i, (unknown, words) in enumerate(counts) if unknown * 2 > words]
    if len(counts) == 1 and mostly:
        unknown, words = counts[0]
        print(
            f"warning: {unknown} of {words} words of the review are not in the model's vocabulary: it reads "
            f"them all as one unknown word ({unknown_token}), and its prediction says little about this text",
            file=sys.stderr,
        )
    elif mostly:
        shown = ", ".join(str(i) for i in mostly[:10]) + (" ..." if len(mostly) > 10 else "")
        print(
            f"warning: in {len(mostly)} of {len(counts)} reviews (input {shown}) most words are not in the model's "
            f"vocabulary: it reads them as one unknown word ({unknown_token}), and its predictions for those say "
            "little",
            file=sys.stderr,
        )
