"""Keeps every message under Telegram's 4,096-character limit, splitting on paragraph boundaries."""

from __future__ import annotations

import html
import re

TELEGRAM_LIMIT = 4096
#: Margin under the limit, so a split never lands exactly on it.
SAFE_LIMIT = 4000
_TAG = re.compile(r"<[^>]+>")


def visible_length(markup: str) -> int:
    """Length as Telegram counts it: visible text after entity parsing, in UTF-16 code units."""
    text = html.unescape(_TAG.sub("", markup))
    return len(text.encode("utf-16-le")) // 2


def split_message(markup: str, limit: int = SAFE_LIMIT) -> list[str]:
    """Paragraphs packed greedily into chunks; a paragraph too long alone is split on lines.

    Our templates keep tags within one line, so cutting between lines never breaks markup.
    """
    if visible_length(markup) <= limit:
        return [markup]
    chunks: list[str] = []
    current = ""
    for piece in _pieces(markup, limit):
        candidate = f"{current}\n\n{piece}" if current else piece
        if visible_length(candidate) <= limit:
            current = candidate
        else:
            if current:
                chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def _pieces(markup: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for paragraph in markup.split("\n\n"):
        if visible_length(paragraph) <= limit:
            pieces.append(paragraph)
            continue
        line_chunk = ""
        for line in paragraph.split("\n"):
            for part in _hard_split(line, limit):
                candidate = f"{line_chunk}\n{part}" if line_chunk else part
                if visible_length(candidate) <= limit:
                    line_chunk = candidate
                else:
                    pieces.append(line_chunk)
                    line_chunk = part
        if line_chunk:
            pieces.append(line_chunk)
    return [p for p in pieces if p.strip()]


def _hard_split(line: str, limit: int) -> list[str]:
    """A single over-long line (only possible with escaped user text) cut between entities."""
    if visible_length(line) <= limit:
        return [line]
    tokens = re.findall(r"&[#a-zA-Z0-9]+;|<[^>]+>|[^&<]", line)
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for token in tokens:
        width = visible_length(token)
        if size + width > limit and current:
            parts.append("".join(current))
            current, size = [], 0
        current.append(token)
        size += width
    if current:
        parts.append("".join(current))
    return parts
