"""A checker for Telegram's ``parse_mode=HTML`` subset.

Telegram's parser (tdlib ``parse_html``) accepts a small set of tags and answers
``400 Bad Request: can't parse entities: ...`` for anything else. This module mirrors
that behaviour closely enough for tests, with the error texts Telegram uses, and is a
little stricter on purpose where Telegram is lenient in ways a bot should not rely on:

* a bare ``&`` that does not start ``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` or a numeric
  reference, and a bare ``>``, are rejected (Telegram's docs say they *must* be escaped;
  the live server happens to let them through);
* attributes a tag does not document (``<b class="x">``) are rejected;
* ``<a>`` needs an ``href``.

``check_html`` returns the visible text; ``parse_html`` also returns the entities as
Bot API ``MessageEntity`` dicts with offsets in UTF-16 code units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["HtmlError", "check_html", "parse_html", "utf16_len"]

_PREFIX = "Bad Request: can't parse entities: "

# tag -> entity type
_SIMPLE_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
ALLOWED_TAGS: frozenset[str] = frozenset({*_SIMPLE_TAGS, "span", "a", "tg-emoji", "tg-time", "blockquote"})
# tag -> attributes it may carry (anything else is rejected)
_ALLOWED_ATTRS: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "span": frozenset({"class"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "tg-time": frozenset({"unix", "format"}),
    "code": frozenset({"class"}),
    "blockquote": frozenset({"expandable"}),
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7}));")
_TIME_FORMAT_RE = re.compile(r"r|w?[dD]?[tT]?")
_UNQUOTED_VALUE_RE = re.compile(r"[A-Za-z0-9.\-]+")


class HtmlError(ValueError):
    """Raised for HTML Telegram would refuse; ``description`` is Telegram's full text."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    name: str
    attrs: dict[str, str | None]
    start: int  # utf-16 offset in the visible text
    byte_offset: int


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    # -- helpers -----------------------------------------------------------------
    def byte_offset(self, pos: int) -> int:
        return len(self.text[:pos].encode("utf-8"))

    def fail(self, message: str) -> HtmlError:
        return HtmlError(_PREFIX + message)

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.utf16 += utf16_len(chunk)

    def decode_entity(self, pos: int) -> tuple[str, int]:
        """Decode the character reference at ``pos`` (which holds ``&``)."""
        match = _ENTITY_RE.match(self.text, pos)
        if match is None:
            raise self.fail(
                f'Unescaped "&" at byte offset {self.byte_offset(pos)}; '
                "write &amp; or a valid character reference"
            )
        named, decimal, hexadecimal = match.groups()
        if named is not None:
            return _NAMED_ENTITIES[named], match.end()
        code = int(decimal) if decimal is not None else int(hexadecimal, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise self.fail(
                f"Invalid character reference {match.group(0)} at byte offset {self.byte_offset(pos)}"
            )
        return chr(code), match.end()

    # -- main loop ---------------------------------------------------------------
    def run(self) -> tuple[str, list[dict[str, Any]]]:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "&":
                decoded, self.pos = self.decode_entity(self.pos)
                self.emit(decoded)
            elif ch == ">":
                raise self.fail(f'Unescaped ">" at byte offset {self.byte_offset(self.pos)}; write &gt;')
            elif ch != "<":
                end = self.pos + 1
                while end < len(text) and text[end] not in "&<>":
                    end += 1
                self.emit(text[self.pos : end])
                self.pos = end
            elif text.startswith("</", self.pos):
                self.end_tag()
            else:
                self.start_tag()
        if self.stack:
            raise self.fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def start_tag(self) -> None:
        text = self.text
        tag_pos = self.pos
        at = self.byte_offset(tag_pos)
        pos = tag_pos + 1
        name_end = pos
        while name_end < len(text) and not text[name_end].isspace() and text[name_end] not in "></":
            name_end += 1
        if name_end >= len(text):
            raise self.fail(f"Unclosed start tag at byte offset {at}")
        name = text[pos:name_end].lower()
        if name not in ALLOWED_TAGS:
            raise self.fail(f'Unsupported start tag "{name}" at byte offset {at}')
        attrs = self.attributes(name, name_end, at)
        self.validate(name, attrs, at)
        if name == "code" and attrs.get("class") and not (self.stack and self.stack[-1].name == "pre"):
            # Telegram ignores a language on a standalone <code>; keep it harmless.
            attrs.pop("class")
        self.stack.append(_Open(name, attrs, self.utf16, at))

    def attributes(self, tag: str, pos: int, at: int) -> dict[str, str | None]:
        text = self.text
        attrs: dict[str, str | None] = {}
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                raise self.fail(f'Unclosed start tag "{tag}" at byte offset {at}')
            if text[pos] == ">":
                self.pos = pos + 1
                return attrs
            name_start = pos
            while pos < len(text) and not text[pos].isspace() and text[pos] not in "=>/\"'":
                pos += 1
            attr = text[name_start:pos].lower()
            if not attr:
                raise self.fail(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
            if attr not in _ALLOWED_ATTRS.get(tag, frozenset()):
                raise self.fail(f'Unsupported attribute "{attr}" in the tag "{tag}" at byte offset {at}')
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                raise self.fail(f'Unclosed start tag "{tag}" at byte offset {at}')
            if text[pos] != "=":
                attrs[attr] = None
                continue
            pos += 1
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                raise self.fail(f'Unclosed start tag "{tag}" at byte offset {at}')
            quote = text[pos]
            if quote in "\"'":
                pos += 1
                value: list[str] = []
                while pos < len(text) and text[pos] != quote:
                    if text[pos] == "&":
                        decoded, pos = self.decode_entity(pos)
                        value.append(decoded)
                    else:
                        value.append(text[pos])
                        pos += 1
                if pos >= len(text):
                    raise self.fail(f'Unclosed start tag "{tag}" at byte offset {at}')
                pos += 1
                attrs[attr] = "".join(value)
            else:
                match = _UNQUOTED_VALUE_RE.match(text, pos)
                if match is None:
                    raise self.fail(f"Unexpected end of name token at byte offset {self.byte_offset(pos)}")
                attrs[attr] = match.group(0)
                pos = match.end()

    def validate(self, tag: str, attrs: dict[str, str | None], at: int) -> None:
        if tag == "span" and (attrs.get("class") or "").lower() != "tg-spoiler":
            raise self.fail(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        if tag == "a" and not attrs.get("href"):
            raise self.fail(f'Tag "a" must have a non-empty "href" attribute at byte offset {at}')
        if tag == "tg-emoji" and not (attrs.get("emoji-id") or "").isdigit():
            raise self.fail("Invalid custom emoji identifier specified")
        if tag == "tg-time":
            unix = attrs.get("unix") or ""
            if not unix.lstrip("-").isdigit():
                raise self.fail(f'Tag "tg-time" must have a valid "unix" attribute at byte offset {at}')
            fmt = attrs.get("format")
            if fmt is not None and not _TIME_FORMAT_RE.fullmatch(fmt):
                raise self.fail(f"Invalid date-time format specified at byte offset {at}")
        if tag == "code" and attrs.get("class") is not None:
            cls = attrs["class"] or ""
            if not cls.startswith("language-"):
                raise self.fail(f'Unsupported class "{cls}" in the tag "code" at byte offset {at}')
        if tag == "blockquote" and "blockquote" in (o.name for o in self.stack):
            raise self.fail(f"Blockquote can't be nested, found at byte offset {at}")

    def end_tag(self) -> None:
        text = self.text
        tag_pos = self.pos
        at = self.byte_offset(tag_pos)
        close = text.find(">", tag_pos)
        lt = text.find("<", tag_pos + 1)
        if close == -1 or (lt != -1 and lt < close):
            raise self.fail(f"Unclosed end tag at byte offset {at}")
        name = text[tag_pos + 2 : close].strip().lower()
        if not self.stack:
            raise self.fail(f"Unexpected end tag at byte offset {at}")
        top = self.stack[-1]
        if name != top.name:
            raise self.fail(
                f'Unmatched end tag at byte offset {at}, expected "</{top.name}>", found "</{name}>"'
            )
        self.stack.pop()
        self.pos = close + 1
        self.close_entity(top)

    def close_entity(self, node: _Open) -> None:
        length = self.utf16 - node.start
        if length <= 0:
            return
        entity: dict[str, Any] = {"offset": node.start, "length": length}
        name = node.name
        if name in _SIMPLE_TAGS:
            entity["type"] = _SIMPLE_TAGS[name]
        elif name == "span":
            entity["type"] = "spoiler"
        elif name == "a":
            entity["type"] = "text_link"
            entity["url"] = node.attrs["href"]
        elif name == "tg-emoji":
            entity["type"] = "custom_emoji"
            entity["custom_emoji_id"] = node.attrs["emoji-id"]
        elif name == "tg-time":
            entity["type"] = "date_time"
            entity["unix_time"] = int(node.attrs["unix"] or 0)
            if node.attrs.get("format"):
                entity["date_time_format"] = node.attrs["format"]
        elif name == "blockquote":
            entity["type"] = "expandable_blockquote" if "expandable" in node.attrs else "blockquote"
        if name == "code" and node.attrs.get("class"):
            entity["language"] = (node.attrs["class"] or "").removeprefix("language-")
        if name == "pre" and self.entities:
            inner = self.entities[-1]
            if inner["type"] == "code" and inner["offset"] == node.start and inner["length"] == length:
                # <pre><code class="language-x">...</code></pre> is one pre entity
                self.entities.pop()
                if "language" in inner:
                    entity["language"] = inner["language"]
        self.entities.append(entity)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into ``(visible_text, entities)`` or raise :class:`HtmlError`."""
    return _Parser(text).run()


def check_html(text: str) -> str:
    """Return the visible text of Telegram HTML ``text`` or raise :class:`HtmlError`."""
    return parse_html(text)[0]
