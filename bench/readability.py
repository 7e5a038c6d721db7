"""Reading grade (Flesch-Kincaid) of each chapter and of the exercise cards.

Syllables are counted with Pyphen's hyphenation dictionary (already installed with
WeasyPrint), so nothing is downloaded (textstat 0.7 needs NLTK's CMU dictionary from the
network). A sentence ends at . ! or ?, or at the end of a heading or list item without one;
a colon does not end it. Usage: .venv/bin/python bench/readability.py [GUIDE_DIR] [--max 6]
(with --max, the exit status is 1 when a chapter's grade is above it).
"""
from __future__ import annotations

import re
import sys

import pyphen

from leadguide.guide.chapters import load_chapters
from leadguide.guide.config import load_config
from leadguide.guide.data import load_data

DICTIONARY = pyphen.Pyphen(lang="en_US", left=1, right=1)


def plain_text(markdown: str) -> str:
    # A sources list is citations, not prose to read
    text = re.sub(r'<div class="sources".*?</div>', " ", markdown, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", text, flags=re.S)  # macros
    text = re.sub(r"<[^>]+>|!\[[^\]]*\]\([^)]*\)|\{:[^}]*\}", " ", text)  # html, images, attrs
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their words
    text = re.sub(r"\b(et al|e\.g|i\.e|vs)\.", r"\1", text)  # abbreviations end no sentence
    text = re.sub(r"^\s*(#+|[-*]|\d+\.|!!!.*)\s*", "", text, flags=re.M)  # markers
    lines = [line.strip() for line in text.splitlines()]
    # A heading or list item without final punctuation is still its own sentence.
    return " ".join(line if line.endswith((".", "!", "?")) else f"{line}." for line in lines
                    if line)


def syllables(word: str) -> int:
    return max(1, len(DICTIONARY.positions(word)) + 1)


def grade(text: str) -> tuple[float, int]:
    words = re.findall(r"[A-Za-z][A-Za-z']*", text)
    sentences = max(1, len(re.findall(r"[.!?]+[\"'”’)]*(?:\s|$)", text)))
    if not words:
        return 0.0, 0
    total = sum(syllables(word) for word in words)
    return 0.39 * len(words) / sentences + 11.8 * total / len(words) - 15.59, len(words)


def main() -> None:
    args = sys.argv[1:]
    limit = float(args.pop(args.index("--max") + 1)) if "--max" in args else None
    args = [arg for arg in args if arg != "--max"]
    config = load_config(args[0] if args else "guide")
    texts = [(c.path.name, plain_text(c.body)) for c in load_chapters(config)]
    exercises = load_data(config.root).get("exercises")
    if exercises:
        texts.append(("exercise cards", " ".join(
            f"{e.purpose} {e.setup} {'. '.join(e.cues)}. {e.easier} {e.harder} {e.avoid} "
            f"{e.caution} {e.evidence}"
            for e in exercises)))
    over = []
    for name, text in texts:
        score, words = grade(text)
        if not words:
            print(f"{name:<36} no running text (its words come from data files)")
            continue
        print(f"{name:<36} grade {score:4.1f}  ({words} words)")
        if limit is not None and score > limit:
            over.append(name)
    score, words = grade(" ".join(text for _, text in texts))
    print(f"{'whole guide':<36} grade {score:4.1f}  ({words} words)")
    if over:
        print(f"above grade {limit:g}: {', '.join(over)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
