"""Identifier normalisation and the keyed hashes an alert list holds (README: "Alert lists").

Two kinds of keys, each a short ASCII string fed to HMAC-SHA256 with the list's own key:

    document  "D" US issuing-state US class US number
    person    "N" US surname US given-names US birth (YYMMDD, "<" for unknown parts)

(US is the 0x1F unit separator, which no normalised part can hold.) The digest kept is the
first 16 bytes of the HMAC. The workstation normalises what the MRZ parser read; headquarters
normalises its clear data the same way when it builds a list (`edge.alerts.build`), adding a
second entry where a name has two ICAO transliterations (Ü as UE or U).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DIGEST_BYTES = 16
_US = "\x1f"

# ICAO 9303 part 3, transliteration of Latin letters that do not reduce to one base letter.
# The German/Nordic letters have a recommended two-letter form and a plain one; both are
# common in issued documents.
_TWO_FORMS = {"Ä": ("AE", "A"), "Å": ("AA", "A"), "Ö": ("OE", "O"), "Ü": ("UE", "U")}
_FIXED = {
    "Æ": "AE",
    "Ø": "OE",
    "ß": "SS",
    "ẞ": "SS",
    "Þ": "TH",
    "Œ": "OE",
    "Ĳ": "IJ",
    "Ð": "D",
    "Đ": "D",
    "Ł": "L",
    "Ħ": "H",
    "Ŀ": "L",
    "\u0131": "I",  # dotless i
}
_NOT_LETTER = re.compile(r"[^A-Z]")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
# ASCII digits only: `\d` and str.isdigit() also take Arabic-Indic and other digits, which no
# MRZ holds and no key may (keys are ASCII).
_BIRTH_MRZ = re.compile(r"^[0-9<]{6}$")
_BIRTH_ISO = re.compile(r"^([0-9]{4})(?:-([0-9]{2}|XX|xx))?(?:-([0-9]{2}|XX|xx))?$")
# What headquarters may write in a document number: MRZ characters, spaces, hyphens, slashes,
# dots (the separators are dropped).
_NUMBER_INPUT = re.compile(r"^[A-Za-z0-9<\s./-]*$")
_COUNTRY_INPUT = re.compile(r"^[A-Za-z<\s]*$")
# The MRZ code of a state whose documents do not use its ISO alpha-3 code.
_COUNTRY_ALIASES = {"DEU": "D"}
# Document class by the first letter of the MRZ document code: passports, the ID-card sized
# official travel documents (ICAO 9303 part 5: A, C or I), visas.
DOCUMENT_CLASSES = ("P", "I", "V")
_CLASS_BY_CODE = {"P": "P", "I": "I", "A": "I", "C": "I", "V": "V"}
_CLASS_WORDS = {
    "PASSPORT": "P",
    "ID": "I",
    "IDCARD": "I",
    "IDENTITYCARD": "I",
    "VISA": "V",
}


@dataclass(frozen=True, slots=True)
class Keys:
    """The keys of one record; None where its fields do not give one, with the reason."""

    document: str | None
    person: str | None
    document_reason: str = ""
    person_reason: str = ""


def digest(hmac_key: bytes, key: str) -> bytes:
    """The keyed hash of one normalised key, as a list stores it."""
    return hmac.digest(hmac_key, key.encode("ascii"), "sha256")[:DIGEST_BYTES]


class Keyer:
    """`digest()` for one list's key, with the HMAC's inner and outer states computed once
    (RFC 2104): about a third of the cost per key on the capture path."""

    def __init__(self, hmac_key: bytes) -> None:
        block = (hashlib.sha256(hmac_key).digest() if len(hmac_key) > 64 else hmac_key).ljust(
            64, b"\0"
        )
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def digest(self, key: str) -> bytes:
        inner = self._inner.copy()
        inner.update(key.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:DIGEST_BYTES]


def country(value: str) -> str:
    """Issuing state: upper case, letters only ("D<<" is "D"); DEU is written D as in MRZs."""
    text = _NOT_LETTER.sub("", value.upper())
    return _COUNTRY_ALIASES.get(text, text)


def document_class(value: str) -> str:
    """P, I or V from an MRZ document code ("PN", "ID", "AC", "V<") or a word ("passport")."""
    text = _NOT_LETTER.sub("", value.upper())
    if text in _CLASS_WORDS:
        return _CLASS_WORDS[text]
    return _CLASS_BY_CODE.get(text[:1], text[:1])


def document_number(value: str) -> str:
    """Upper case, letters and digits only: fillers, spaces and hyphens are dropped."""
    return _NOT_ALNUM.sub("", value.upper())


def name_form(value: str, *, plain: bool = False) -> str:
    """A name as an MRZ writes it: upper case, transliterated, letters only (no separators).

    Ä, Å, Ö and Ü become AE, AA, OE and UE (ICAO's recommended form), or A, O and U with
    `plain`; every other letter has one form.
    """
    upper = value.upper()
    return _letters("".join(_TWO_FORMS.get(ch, (ch, ch))[int(plain)] for ch in upper))


def _letters(text: str) -> str:
    if text.isascii():  # what the MRZ parser gives: nothing to transliterate
        return _NOT_LETTER.sub("", text.upper())
    fixed = "".join(_FIXED.get(ch, _FIXED.get(ch.upper(), ch)) for ch in text)
    decomposed = unicodedata.normalize("NFKD", fixed)
    return _NOT_LETTER.sub("", decomposed.upper())


def birth(value: str) -> str | None:
    """YYMMDD with "<" for unknown parts, from an MRZ date or ISO "YYYY[-MM[-DD]]"; else None.

    "00" and "XX" as month or day are unknown too. The century is dropped: the MRZ has none.
    """
    text = value.strip()
    if _BIRTH_MRZ.match(text):
        return text
    match = _BIRTH_ISO.match(text)
    if match is None:
        return None
    year, month, day = match.group(1), match.group(2) or "", match.group(3) or ""

    def part(p: str) -> str:
        return p if p.isascii() and p.isdigit() and p != "00" else "<<"

    return year[2:] + part(month) + part(day)


def document_key(issuing_country: str, code: str, number: str) -> str | None:
    """The document key, or None when a part is empty after normalisation."""
    parts = (country(issuing_country), document_class(code), document_number(number))
    return None if not all(parts) else _US.join(("D", *parts))


def document_keys(issuing_country: str, code: str, number: str) -> list[str]:
    """Headquarters' document keys: one, or one per class (P, I, V) when `code` is empty, so
    that a row without a document type matches the number on any kind of document; empty when
    the state or the number is missing."""
    if code.strip():
        key = document_key(issuing_country, code, number)
        return [key] if key is not None else []
    keys = [document_key(issuing_country, cls, number) for cls in DOCUMENT_CLASSES]
    return [k for k in keys if k is not None]


def number_input_ok(value: str) -> bool:
    """Whether headquarters' document number holds only what an MRZ number is written with."""
    return bool(_NUMBER_INPUT.match(value))


def country_input_ok(value: str) -> bool:
    """Whether headquarters' issuing state is an MRZ code (ASCII letters, fillers)."""
    return bool(_COUNTRY_INPUT.match(value))


def person_key(surname: str, given_names: str, birth_date: str) -> str | None:
    """The person key from a name as the MRZ writes it (plain A-Z), or None without one."""
    last = _letters(surname)
    born = birth(birth_date)
    if not last or born is None:
        return None
    return _US.join(("N", last, _letters(given_names), born))


def person_keys(surname: str, given_names: str, birth_date: str) -> list[str]:
    """Every person key of a name in clear: ICAO's recommended and the plain transliteration
    (one issuer writes a whole name one way); empty if unusable."""
    born = birth(birth_date)
    if born is None:
        return []
    keys = [
        _US.join(("N", last, name_form(given_names, plain=plain), born))
        for plain in (False, True)
        if (last := name_form(surname, plain=plain))
    ]
    return list(dict.fromkeys(keys))


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def _plain(value: str, pattern: re.Pattern[str]) -> str:
    """`value` in upper case without what `pattern` matches; what the MRZ parser gives (upper
    case ASCII letters and digits) is returned as it is, without a regular expression."""
    if value.isalnum() and value.isascii() and value.isupper():
        return value
    return pattern.sub("", value.upper())


def record_keys(fields: Mapping[str, Any]) -> Keys:
    """The keys of a parsed document's fields (MRZ parser names), with why one is missing.

    The same keys as `document_key` and `person_key` give; this is the capture path's form.
    """
    state = country(_text(fields, "issuing_country"))
    code = _text(fields, "document_code")
    kind = _CLASS_BY_CODE.get(code[:1]) if code[:1].isupper() else None
    if kind is None:
        kind = document_class(code)
    number = _plain(_text(fields, "document_number"), _NOT_ALNUM)
    document = _US.join(("D", state, kind, number)) if state and kind and number else None
    surname = _letters(_text(fields, "surname"))
    born = birth(_text(fields, "birth_date_raw") or _text(fields, "birth_date"))
    person = None
    person_reason = ""
    if surname and born is not None:
        person = _US.join(("N", surname, _letters(_text(fields, "given_names")), born))
    else:
        named = bool(surname or _text(fields, "passenger_name"))
        person_reason = "no_birth_date" if named else "no_name"
    return Keys(
        document=document,
        person=person,
        document_reason="" if document else "no_document_number",
        person_reason=person_reason,
    )
