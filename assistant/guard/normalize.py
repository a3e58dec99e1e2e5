"""The text the rails read: one spelling for the many ways the same words can be written.

A rule written for 保本 must also see 保-本, 保 本, 保\u200b本 and 保本 in full-width or
Traditional characters; one written for "guaranteed" must also see "g-u-a-r-a-n-t-e-e-d",
"guar4nteed", a Cyrillic "а" for a Latin "a" and a curly apostrophe in "can’t". Matching
runs on the normalised text, so each rule is written once, in plain form.
"""

from __future__ import annotations

import re
import unicodedata

from assistant.text import fold, to_simplified

# Characters that render as nothing: zero-width spaces and joiners, the BOM, soft hyphens.
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Letters of other scripts that look like Latin ones.
_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁɡкмтвнАЕОРСУХІЈЅКМТВНαοριυνκτΑΒΕΗΙΚΜΝΟΡΤΥΧսօցհոլ",
    "aeopcyxijsdgkmtbhAEOPCYXIJSKMTBHaopiuvktABEHIKMNOPTYXuoghnl",
)
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"'})
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
# Separators slipped between the characters of a Chinese word: 保-本, 保 本, 保·本, 保*本.
_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[\s\-_.·•*~|/\\+=]+(?=[{_CJK}])")
# A Latin word spelled out letter by letter: g-u-a-r-a-n-t-e-e-d, r i s k.
_SPELLED = re.compile(r"(?<![a-z])(?:[a-z][\s\-_.*·]){2,}[a-z](?![a-z])", re.IGNORECASE)
# "risk - free" for risk-free, once the letters are joined again.
_SPACED_HYPHEN = re.compile(r"(?<=[a-z])\s+-\s+(?=[a-z])", re.IGNORECASE)
# Digits standing for letters inside a word (gu4r4nteed, 1gn0re): between letters, or
# opening a word of letters. A version number at a word's end (gpt3, R2) stays a number.
_LEET = str.maketrans("0134578@$", "oieastbas")
_LEET_DIGIT = re.compile(
    r"(?<=[a-z])[0134578@$]+(?=[a-z])|(?<![a-z0-9])[0134578@$](?=[a-z]{2})", re.IGNORECASE
)


def screening_text(text: str, keep_case: bool = False) -> str:
    """`text` as the rails read it: compatibility forms (full-width, ligatures) to plain
    ones, invisible characters out, look-alike letters to Latin, curly quotes to straight,
    Traditional to Simplified, lower case (unless a rule reads case: "DAN", "You are X"),
    and the separators and digits slipped into a word taken out again."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    text = text.translate(_HOMOGLYPHS).translate(_QUOTES)
    text = to_simplified(text) if keep_case else fold(text)
    text = _BETWEEN_CJK.sub("", text)
    text = _SPELLED.sub(lambda m: re.sub(r"[\s\-_.*·]", "", m.group()), text)
    text = _SPACED_HYPHEN.sub("-", text)
    return _LEET_DIGIT.sub(lambda m: m.group().translate(_LEET), text)
