"""Reading grade (Flesch-Kincaid) of each chapter and of the exercise cards.

Syllables are counted with Pyphen's hyphenation dictionary (already installed with
WeasyPrint), so nothing is downloaded. Usage: .venv/bin/python bench/readability.py [GUIDE_DIR]
"""
from __future__ import annotations

import re
import sys

import pyphen

from leadguide.chapters import load_chapters
from leadguide.config import load_config
from leadguide.data import load_data

DICTIONARY = pyphen.Pyphen(lang="en_US", left=1, right=1)


def plain_text(markdown: str) -> str:
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", markdown, flags=re.S)  # macros
    text = re.sub(r"<[^>]+>|!\[[^\]]*\]\([^)]*\)|\{:[^}]*\}", " ", text)  # html, images, attrs
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their words
    text = re.sub(r"^\s*(#+|[-*]|\d+\.|!!!.*)\s*", "", text, flags=re.M)  # markers
    lines = [line.strip() for line in text.splitlines()]
    # A heading or list item without final punctuation is still its own sentence.
    return " ".join(line if line.endswith((".", "!", "?", ":")) else f"{line}." for line in lines
                    if line)


def syllables(word: str) -> int:
    return max(1, len(DICTIONARY.positions(word)) + 1)


def grade(text: str) -> tuple[float, int]:
    words = re.findall(r"[A-Za-z][A-Za-z']*", text)
    sentences = max(1, len(re.findall(r"[.!?:]+(?:\s|$)", text)))
    if not words:
        return 0.0, 0
    total = sum(syllables(word) for word in words)
    return 0.39 * len(words) / sentences + 11.8 * total / len(words) - 15.59, len(words)


def main() -> None:
    config = load_config(sys.argv[1] if len(sys.argv) > 1 else "guide")
    texts = [(c.path.name, plain_text(c.body)) for c in load_chapters(config)]
    exercises = load_data(config.root).get("exercises")
    if exercises:
        texts.append(("exercise cards", " ".join(
            f"{e.purpose} {e.setup} {'. '.join(e.cues)}. {e.easier} {e.harder} {e.avoid}"
            for e in exercises)))
    for name, text in texts:
        score, words = grade(text)
        print(f"{name:<36} grade {score:4.1f}  ({words} words)")
    score, words = grade(" ".join(text for _, text in texts))
    print(f"{'whole guide':<36} grade {score:4.1f}  ({words} words)")


if __name__ == "__main__":
    main()
