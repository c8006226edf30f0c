"""The glossary's terms (docs/glossary.md) as the pages write them, and the links to them that the
publisher adds to the results blocks: a page links each term where it first uses it, and where that
first use is in a rendered table or verdict, the block carries the link.
"""

import re

GLOSSARY = "docs/glossary.md"
# Each entry of docs/glossary.md (its anchor) and how the pages write the term.
TERMS = {
    "aopc": r"\bAOPC\b",
    "chance-level": r"\bchance levels?\b",
    "comprehensiveness": r"\b[Cc]omprehensiveness\b",
    "entropy-in-nats": r"\bnats\b",
    "eraser": r"\bERASER\b",
    "faithful": r"\b[Ff]aithful(?:ness)?\b",
    "ferret": r"\bferret\b",
    "gradient-importance": r"\b[Gg]radient (?:importance|× input)\b",
    "honest-protocol": r"\b[Hh]onest protocol\b",
    "kendalls-tau-b": r"τ",
    "leave-one-out": r"\b[Ll]eave-one-out\b",
    "mask": r"\b[Mm]ask(?:s|ed|ing)?\b",
    "original": r"\b[Oo]riginals?\b(?!'s protocol)",
    "originals-protocol": r"\boriginal's protocol\b",
    "peak-weight": r"\bpeak weights?\b",
    "probe-samples": r"\bprobe (?:samples?|inputs?)\b",
    "query": r"\bquer(?:y|ies)\b",
    "scaled-dot-product": r"√n",
    "seed": r"\bseeds?\b",
    "sufficiency": r"\b[Ss]ufficiency\b",
    "teacher-forcing": r"\b[Tt]eacher[ -]forc(?:ing|ed)\b",
    "uniform": r"\b[Uu]niform\b(?! values| random| draws)",  # the weights, not the distribution
    "welch-p": r"\bWelch\b",
}
LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?:(?:\.\./)*docs/|\.\./)?glossary\.md#(?P<anchor>[\w-]+)\)")
# What is not prose a reader meets: code, comments (the blocks' markers among them), link targets,
# headings, the words of links to other pages, and a page's front matter.
NOT_PROSE = re.compile(
    r"```.*?```|`[^`\n]*`|<!--.*?-->|^#[^\n]*$|\[[^\]]*\]\([^)]*\)|\A---\n.*?\n---\n",
    re.S | re.M,
)


def prose(text):
    """`text` with what is not prose blanked (same length, so positions hold)."""
    return NOT_PROSE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def linked_anchors(text):
    """The glossary entries that `text` links."""
    return {link.group("anchor") for link in LINK.finditer(text)}


def link_first_uses(text, linked=frozenset()):
    """`text` (a rendered block) with the first use of each term not in `linked` made a link to its
    glossary entry; returns (the text, the anchors it links)."""
    linked = set(linked)
    while True:
        blank = prose(text)  # a link made is blanked: its words are not met again
        uses = [
            (use.start(), -len(use.group(0)), anchor, use)
            for anchor, pattern in TERMS.items()
            if anchor not in linked and (use := re.search(pattern, blank))
        ]
        if not uses:
            return text, linked_anchors(text)
        _, _, anchor, use = min(uses)  # the earliest, and of two at one place the longer
        text = f"{text[: use.start()]}[{use.group(0)}]({GLOSSARY}#{anchor}){text[use.end() :]}"
        linked.add(anchor)
