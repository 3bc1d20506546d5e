"""What a person reads on a page, and the English words or raw codes left in it.

Shared by the page test (tests/service/test_zh_everywhere.py) and the browser test of the
verifier's JS-rendered lines (tests/browser/test_zh_verifier.py).
"""

import re
from collections.abc import Iterable
from html.parser import HTMLParser

#: Attributes people read too: tooltips, screen-reader names, placeholders, button values,
#: and the texts the page's scripts show later (countdown done, quota preview labels).
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-done")
READ_ATTRIBUTE_PREFIXES = ("data-label-",)
#: Elements whose content nobody reads, what the user typed (a pasted round), and computer
#: code: commands to copy and signed entries shown byte for byte (`<code>`, `<pre>`).
SKIPPED = {"script", "style", "noscript", "textarea", "code", "pre", "kbd", "samp"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

#: Data, not words: these are shown as they are in any language.
DATA_PATTERNS = (
    re.compile(r"https?://\S+"),  # addresses (relay URLs, the verify page's URL)
    re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b"),  # digests (whole or cut short…), secrets, key ids
    re.compile(r"\bed25519:[A-Za-z0-9+/=]+"),  # the office's public key as published
    re.compile(r"[A-Za-z0-9+/]{40,}={0,2}"),  # base64 key material and log roots
    re.compile(r"\b\d{3}-\d{4}\b"),  # case numbers 114-0001
    re.compile(r"\b[A-Z]\d{2}\*+\d{2}\b|\b[A-Z]\d{9}\b"),  # national ID numbers, masked W29*****97 or an example
    re.compile(r"\b[A-Z]{1,2} 欄"),  # a spreadsheet's column letter (B 欄)
    re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)+/\S*"),  # the log's name (origin), e.g. sunshine-draw.example/log
    re.compile(r"[\w./-]*\.(?:tsv|json|sig|vkey|zip|csv|xlsx)\b"),  # the bundle's and the upload's file names
    re.compile(r"(?<!\S)/[\w./-]+"),  # paths on this site shown as links (/log/checkpoint)
    re.compile(r"\bQR Code\b"),  # as Taiwan writes it (QR碼 is rare)
    re.compile(r"\{\w+\}"),  # placeholders the page's scripts fill in
    re.compile(r"\bRFC \d+"),  # standards cited by number
    re.compile(r"\bsunshine-draw/\d+\b"),  # the protocol's name and version
    re.compile(r"\$[A-Z]+\b"),  # a shell variable of the command above it ($SEED)
    re.compile(r"\bcase-based\b"),  # the pseudo draw id of case-based checks, as the log shows it
    re.compile(r"\bNT\$"),  # the New Taiwan dollar sign, as offices write amounts
    re.compile(r"\bSHA-?256\b", re.IGNORECASE),  # the hash function's name (no Chinese name)
    re.compile(r"\bEd25519\b|\bBLS(?:12-381)?\b"),  # signature schemes' names
)
#: Names with no Chinese equivalent that offices use as they are. Keep this short.
ALLOWED_WORDS = frozenset(
    {
        "drand",  # the beacon's name (League of Entropy's own spelling)
        "quicknet",  # the drand network's name, shown beside 熵聯盟
        "JSON",  # the format the operator pastes and the documents use
        "CSV",  # file formats in the import page and the exports
        "XLSX",
        "Excel",
        "Big5",  # the encoding's name
        "UTF",  # UTF-8, the encoding's name
        "Python",  # the verify page offers a Python command beside the browser check
        "ZIP",  # bundle.zip's format
    }
)
ISO_UTC = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?Z\b")
GREGORIAN_DATE = re.compile(r"\b(?:19|20)\d{2}[-/]\d{2}[-/]\d{2}\b")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’]*")


class VisibleText(HTMLParser):
    """Collects the text nodes and read attributes of a page, outside script and style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # script and style, and the language switch: a link marked as English ("English")
        switch = tag == "a" and (dict(attrs).get("lang") or "").lower().startswith("en")
        if tag in SKIPPED or switch or self._skipping:
            if tag not in VOID:
                self._skipping.append(tag)
            return
        for name, value in attrs:
            if value and (name in READ_ATTRIBUTES or name.startswith(READ_ATTRIBUTE_PREFIXES)):
                self.parts.append(value)
            if value and name == "value" and dict(attrs).get("type") in ("submit", "button"):
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:  # an element left open inside a skipped one ends with it
            while self._skipping.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    """The pieces of text a person reads on a page."""
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.parts


def foreign_words(parts: Iterable[str], data: Iterable[str] = ()) -> list[str]:
    """English words, raw UTC timestamps and Gregorian dates left in zh-TW text.

    `data` lists the values this page shows as they were entered (titles, draw ids, names).
    """
    found: list[str] = []
    values = sorted((v for v in data if v), key=len, reverse=True)
    for part in parts:
        for pattern in (ISO_UTC, GREGORIAN_DATE):
            found += [f"date {m}" for m in pattern.findall(part)]
        text = part
        for pattern in DATA_PATTERNS:
            text = pattern.sub(" ", text)
        for value in values:
            text = text.replace(value, " ")
        for word in WORD.findall(text):
            if word not in ALLOWED_WORDS:
                found.append(f"{word!r} in {part[:120]!r}")
    return found
