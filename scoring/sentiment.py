"""Sentiment of a mention: polarity, a label and the cues behind it.

How a text is read (formula "sentiment-3", weights in `data/sentiment_model.json`):

1. Judge or refuse. Text with no words, text written mostly in a non-Latin script and
   text whose function words are another language's (see `_language_reason`) get the
   label "unknown": the pipeline stores no polarity for them instead of a false neutral.
2. Adapt the social text: decode HTML entities; drop URLs, @handles and the RT marker;
   read common emoji as the emoticon or word that means the same (😡 → "angry"); split
   hashtags into words (#NeverAgain → "Never Again"); shorten elongated words to a
   known word ("sooooo" → "so"); spell out negations ("isn't" → "is not"), which
   TextBlob misses on its own; read support phrases as one word ("charged twice" →
   "overcharged", "hasn't answered" → "unanswered").
   VADER's lexicon gains a few support words (`SUPPORT_VALENCES`: refund, overcharged,
   unanswered, outage, crashing, ...) rated by hand on its scale: the rated data holds
   almost no support text to learn them from.
3. Features: TextBlob's polarity and subjectivity (its lexicon and rules, fed our tokens);
   VADER's compound score, positive and negative shares and its lexicon's valence sums
   (VADER is a lexicon built for social media, MIT-licensed); steps of VADER's compound
   and TextBlob's polarity (is it above -0.75, -0.5, ...?), which let the linear heads
   bend; punctuation and emphasis cues; and the words, each marked `NOT_` when it sits
   in a negation's scope.
4. Two linear heads learned by `bench/train_sentiment.py` from the 11,808 labelled dev
   texts (tweets, product review, editorial and movie review sentences): half a model
   fitted on all of them, the tweets weighing as much as the rest together, half one
   fitted on the tweets alone, folded into one set of weights:
   a ridge regression estimates the mean human rating r on the -4..+4 scale, and
   `polarity = clamp(r / 4, -1, 1)`; a class-balanced logistic regression, trained on
   soft labels (a text whose mean rating is near a cut point counts partly towards both
   labels), picks the label. The label never contradicts the sign of the polarity (a
   "positive" with polarity <= 0 becomes "neutral", and likewise for "negative").

`cues` lists the largest contributions to the polarity (lexicon groups and single words,
in polarity units) and what the adaptation changed, so every number can be traced.

A review's star rating is the reviewer's own verdict: `blend_stars` lets 1–5 stars lead
and the words refine (polarity = 0.7 · stars + 0.3 · words; the label from the stars).
"""

from __future__ import annotations

import html
import importlib.util
import json
import math
import re
import sys
import types
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import resources
from operator import mul
from typing import Any, Literal

from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
    SentimentIntensityAnalyzer,
)

Label = Literal["negative", "neutral", "positive", "unknown"]
LABELS: tuple[Label, Label, Label] = ("negative", "neutral", "positive")
MODEL_RESOURCE = "data/sentiment_model.json"
# The human rating scale the model estimates runs from -4 to +4.
RATING_SCALE = 4.0
# A contribution smaller than this (polarity units) is not worth a cue.
CUE_MIN_CONTRIBUTION = 0.04
MAX_CUES = 6
MAX_NOTES_PER_KIND = 3
# VADER's own factor for a negated word's valence.
VADER_NEGATION_SCALAR = -0.74
# A word in `NOT_` form sits after a negation and before the next punctuation mark.
NEGATED_PREFIX = "NOT_"
# A review's stars, 1 to 5, lead its polarity; its words refine it. 3 stars is neutral.
STARS_WEIGHT = 0.7
WORDS_WEIGHT = 0.3
FEWEST_STARS, MOST_STARS, NEUTRAL_STARS = 1, 5, 3

# Step features let the linear heads bend: the lexicon scores are not linear in the rating
# (VADER's compound saturates near ±1) and the neutral band needs a sharper edge than one
# slope gives. Each is 1.0 when the score is above the step, else 0.0.
COMPOUND_STEPS = (-0.75, -0.5, -0.25, -0.05, 0.05, 0.25, 0.5, 0.75)
TEXTBLOB_STEPS = (-0.5, -0.2, -0.05, 0.05, 0.2, 0.5)
_BASE_FEATURES = (
    "vader_compound",
    "vader_compound_cubed",
    "vader_positive_share",
    "vader_negative_share",
    "no_lexicon_words",
    "vader_positive_sum",
    "vader_negative_sum",
    "textblob_polarity",
    "textblob_subjectivity",
    "textblob_polarity_x_subjectivity",
    "exclamations",
    "question",
    "caps",
    "elongated",
    "link",
    "length",
)
DENSE_FEATURES: tuple[str, ...] = (
    _BASE_FEATURES
    + tuple(f"vader_compound_above_{step:+.2f}" for step in COMPOUND_STEPS)
    + tuple(f"textblob_polarity_above_{step:+.2f}" for step in TEXTBLOB_STEPS)
)
# Correlated features are reported together, so a cue never shows two halves of one signal.
_FEATURE_GROUP = {
    "vader_compound": "VADER lexicon",
    "vader_compound_cubed": "VADER lexicon",
    "vader_positive_share": "VADER lexicon",
    "vader_negative_share": "VADER lexicon",
    "no_lexicon_words": "VADER lexicon",
    "vader_positive_sum": "VADER lexicon",
    "vader_negative_sum": "VADER lexicon",
    "textblob_polarity": "TextBlob lexicon",
    "textblob_subjectivity": "TextBlob lexicon",
    "textblob_polarity_x_subjectivity": "TextBlob lexicon",
    "exclamations": "punctuation and emphasis",
    "question": "punctuation and emphasis",
    "caps": "punctuation and emphasis",
    "elongated": "punctuation and emphasis",
    "link": "a link",
    "length": "length",
    **{f"vader_compound_above_{step:+.2f}": "VADER lexicon" for step in COMPOUND_STEPS},
    **{f"textblob_polarity_above_{step:+.2f}": "TextBlob lexicon" for step in TEXTBLOB_STEPS},
}
_GROUPS = tuple(_FEATURE_GROUP[name] for name in DENSE_FEATURES)

# Common emoji, read as the emoticon or word that both lexicons already rate the same way.
# Other pictographs are dropped: VADER's own reading of them by name misfires
# ("broken heart" comes out positive, "fire" negative).
EMOJI_WORDS = {
    "😀": ":)", "😃": ":)", "😄": ":)", "🙂": ":)", "😊": ":)", "☺": ":)", "😇": ":)",
    "🥳": ":)", "😎": ":)", "😁": ":D", "😆": ":D", "😂": "lol", "🤣": "lol",
    "😍": "love", "🥰": "love", "😘": "love", "😻": "love", "❤": "<3", "♥": "<3",
    "💕": "<3", "💖": "<3", "💗": "<3", "💓": "<3", "💞": "<3", "💙": "<3", "💚": "<3",
    "💛": "<3", "💜": "<3", "🧡": "<3", "🤍": "<3", "👍": "good", "👌": "good",
    "🙌": "great", "👏": "great", "💯": "great", "🎉": "great", "🤩": "wow", "🙏": "thanks",
    "😢": ":(", "😞": ":(", "😔": ":(", "😟": ":(", "🙁": ":(", "☹": ":(", "😿": ":(",
    "😥": ":(", "😭": ":'(", "😡": "angry", "😠": "angry", "👿": "angry", "🤬": "furious",
    "💔": "heartbroken", "👎": "bad", "🙄": "ugh", "😒": "ugh", "😩": "ugh", "😫": "ugh",
    "🤮": "disgusting", "🤢": "disgusting", "💩": "crap", "😤": "annoyed", "😱": "scared",
    "😨": "scared", "😰": "scared", "😕": ":/", "🤒": "sick", "🤕": "sick", "😴": "tired",
    "🥱": "tired",
}  # fmt: skip
_EMOJI = re.compile("[" + "".join(EMOJI_WORDS) + "]")
_PICTOGRAPH = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w+")
_RETWEET = re.compile(r"\bRT\b:?")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ELONGATED = re.compile(r"[^\W\d_]*([^\W\d_])\1{2,}[^\W\d_]*")
_RUN = re.compile(r"([^\W\d_])\1{2,}")
_IRREGULAR_NEGATIONS = {
    "can't": "can not", "cant": "can not", "cannot": "can not", "won't": "will not",
    "wont": "will not", "shan't": "shall not", "ain't": "is not", "aint": "is not",
}  # fmt: skip
_NEGATION = re.compile(
    r"(?i)\b(?:" + "|".join(_IRREGULAR_NEGATIONS) + r")\b|n't\b"
    r"|\b(is|are|was|were|do|does|did|has|have|had|could|should|would|must|need|might)nt\b"
)
# Support text: what a customer writes when something went wrong with a bill or a ticket.
# VADER's lexicon (rated by people on -4..+4) misses these, so they get valences on its
# scale, set by hand: the rated data holds almost no support text to learn them from.
SUPPORT_VALENCES = {
    "refund": -1.5, "overcharged": -2.0, "unanswered": -1.5, "outage": -2.0,
    "crashing": -1.7, "crashes": -1.7, "crashed": -1.7, "buggy": -1.5, "glitch": -1.2,
    "glitchy": -1.5, "unresponsive": -1.5, "ripoff": -2.5,
}  # fmt: skip
# Support phrases read as one word the valences above rate ("charged twice" → "overcharged").
_SUPPORT_PHRASES = (
    (
        re.compile(
            r"(?i)\b(?:charged\s+(?:me\s+|us\s+)?(?:twice|two\s+times|double)"
            r"|double[- ]charged|billed\s+(?:me\s+|us\s+)?twice)\b"
        ),
        "overcharged",
    ),
    (
        re.compile(
            r"(?i)\b(?:(?:has|have|had|did|does|do|is|are|was|were)(?:\s+not|n't|nt)\s+"
            r"(?:yet\s+)?(?:answered|replied|responded|answer|reply|respond)"
            r"|no\s+(?:answer|reply|response))\b"
        ),
        "unanswered",
    ),
)
_WORD = re.compile(r"[^\W\d_]{2,}")
_EMOTICON = re.compile(r"(?:[:;=8xX][-o^']?[()dDpP\]\[/\\|*3@]|<3|:'\()")
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|[:;=8x][-o^']?[()dp\]\[/\\|*3@]|<3|:'\(|!+|[?.,;:]")
_LONG_WORD = re.compile(r"\b[^\W\d_]{3,}\b")
_NEGATORS = frozenset(("not", "no", "never", "nothing", "nobody", "none", "nor", "neither"))
_SCOPE_END = frozenset((".", ",", ";", ":", "!", "?"))
_LENGTH_UNIT_WORDS = 20
_LENGTH_CAP = 3.0
_EXCLAMATION_CAP = 3


@dataclass(frozen=True, slots=True)
class Sentiment:
    """How positive or negative a text reads, and why."""

    polarity: float
    subjectivity: float
    label: Label
    cues: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Features:
    """What the model reads from one text: numbered features, words and adaptation notes."""

    dense: tuple[float, ...]
    words: frozenset[str]
    subjectivity: float
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SentimentModel:
    """The two learned heads: a rating regression and a three-way label classifier."""

    version: str
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    rating_intercept: float
    rating_dense: tuple[float, ...]
    rating_words: dict[str, float]
    label_intercept: tuple[float, float, float]
    # One row of dense weights per label, in LABELS order.
    label_dense: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]
    label_words: dict[str, tuple[float, float, float]]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SentimentModel:
        """Build a model from its JSON form (see `bench/train_sentiment.py`)."""
        if tuple(data["features"]) != DENSE_FEATURES:
            raise ValueError("model was trained on different features")
        rating, label = data["rating"], data["label"]
        if rating["words"].keys() != label["words"].keys():
            raise ValueError("both heads must know the same words")
        by_feature = [_triple(row) for row in label["dense"]]
        neg, neu, pos = (tuple(row[k] for row in by_feature) for k in range(3))
        return cls(
            version=str(data["version"]),
            mean=tuple(map(float, data["mean"])),
            scale=tuple(map(float, data["scale"])),
            rating_intercept=float(rating["intercept"]),
            rating_dense=tuple(map(float, rating["dense"])),
            rating_words={w: float(v) for w, v in rating["words"].items()},
            label_intercept=_triple(label["intercept"]),
            label_dense=(neg, neu, pos),
            label_words={w: _triple(v) for w, v in label["words"].items()},
        )

    def judge(self, features: Features) -> Sentiment:
        """Polarity, label and cues for a text the model can judge."""
        z = [(x - m) / s for x, m, s in zip(features.dense, self.mean, self.scale, strict=True)]
        shares: dict[str, float] = {}
        for group, weight, value in zip(_GROUPS, self.rating_dense, z, strict=True):
            shares[group] = shares.get(group, 0.0) + weight * value
        rating = self.rating_intercept + sum(shares.values())
        neg, neu, pos = (
            bias + sum(map(mul, row, z))
            for bias, row in zip(self.label_intercept, self.label_dense, strict=True)
        )
        for word in features.words:
            word_weight = self.rating_words.get(word)
            if word_weight is not None:
                shares[_word_cue(word)] = word_weight  # quoted, so never a group's name
                rating += word_weight
                a, b, c = self.label_words[word]
                neg, neu, pos = neg + a, neu + b, pos + c
        polarity = max(-1.0, min(1.0, rating / RATING_SCALE))
        label: Label = "neutral"
        if neg >= neu and neg >= pos:
            label = "negative" if polarity < 0 else "neutral"
        elif pos > neu:
            label = "positive" if polarity > 0 else "neutral"
        return Sentiment(
            round(polarity, 3),
            round(features.subjectivity, 3),
            label,
            _cues(shares) + list(features.notes),
        )


def analyze(text: str) -> Sentiment:
    """Score `text`; text with no words or in another language is `unknown`, not neutral."""
    plain, link = _plain(text)
    reason = _reason(plain)
    if reason is not None:
        return Sentiment(0.0, 0.0, "unknown", [reason])
    return shipped_model().judge(_features(plain, link))


def blend_stars(words: Sentiment, stars: int | None) -> Sentiment:
    """Let a review's 1–5 star rating lead the sentiment of its words.

    The stars read as a polarity, (stars − 3) / 2: 1 star is −1, 3 is 0, 5 is +1. Then

        polarity = 0.7 · stars + 0.3 · words

    where words is the text's polarity, or the stars' own when the text is "unknown".
    The label is the reviewer's: 1–2 stars negative, 3 neutral, 4–5 positive, whatever
    the words say; the first cue says "N/5 stars". No rating, or one outside 1..5,
    leaves the text's sentiment as it is.
    """
    if stars is None or not FEWEST_STARS <= stars <= MOST_STARS:
        return words
    from_stars = (stars - NEUTRAL_STARS) / (MOST_STARS - NEUTRAL_STARS)
    from_words = words.polarity if words.label != "unknown" else from_stars
    label: Label = (
        "negative" if stars < NEUTRAL_STARS else "positive" if stars > NEUTRAL_STARS else "neutral"
    )
    return Sentiment(
        polarity=round(STARS_WEIGHT * from_stars + WORDS_WEIGHT * from_words, 3),
        subjectivity=words.subjectivity,
        label=label,
        cues=[f"{stars}/5 stars", *words.cues],
    )


def unjudgeable_reason(text: str) -> str | None:
    """Why `text` cannot be judged (no words, another language), or None when it can."""
    return _reason(_plain(text)[0])


def extract_features(text: str) -> Features:
    """Adapt `text` for the lexicons and read the model's inputs from it."""
    return _features(*_plain(text))


def _plain(text: str) -> tuple[str, bool]:
    """Decode entities and drop URLs, @handles and RT; say whether there was a link."""
    decoded = html.unescape(text).replace("\u2019", "'")
    without_links = _URL.sub(" ", decoded)
    plain = _RETWEET.sub(" ", _HANDLE.sub(" ", without_links))
    return plain, len(without_links) != len(decoded)


def _reason(plain: str) -> str | None:
    if not (_WORD.search(plain) or _EMOTICON.search(plain) or _EMOJI.search(plain)):
        return "no words to judge"
    return _language_reason(plain)


def _features(plain: str, link: bool) -> Features:
    notes: list[str] = []
    cleaned = plain
    if not cleaned.isascii():
        cleaned = _EMOJI.sub(lambda m: _read_emoji(m.group(0), notes), cleaned)
        cleaned = _PICTOGRAPH.sub(" ", cleaned)
    cleaned = _HASHTAG.sub(lambda m: " " + _CAMEL.sub(" ", m.group(1)) + " ", cleaned)
    elongated = 0.0
    if _ELONGATED.search(cleaned):
        elongated = 1.0
        cleaned = _ELONGATED.sub(lambda m: _shorten(m.group(0), notes), cleaned)
    for phrase, word in _SUPPORT_PHRASES:
        cleaned = phrase.sub(partial(_read_phrase, word=word, notes=notes), cleaned)
    cleaned = _NEGATION.sub(_spell_out_negation, cleaned)

    tokens = _TOKEN.findall(cleaned.lower())
    # TextBlob's own lexicon and rules, on our tokens: its tokenizer knows no hashtags or
    # emoji and costs as much as everything else here.
    polarity, subjectivity = (float(v) for v in _textblob()(_textblob_tokens(tokens)))
    vader = _vader().polarity_scores(cleaned)
    compound = float(vader["compound"])
    long_words = _LONG_WORD.findall(cleaned)
    caps = [w for w in long_words if w.isupper()]
    shouting = 1.0 if caps and len(caps) < len(long_words) else 0.0
    if shouting:
        notes.extend(f"caps '{word}'" for word in caps[:MAX_NOTES_PER_KIND])
    word_count = sum(1 for t in tokens if t[0].isalpha())
    words = _words(tokens)
    positive_sum, negative_sum = _valence_sums(words)
    dense = (
        compound,
        compound**3,
        float(vader["pos"]),
        float(vader["neg"]),
        1.0 if vader["pos"] == 0 and vader["neg"] == 0 else 0.0,
        positive_sum,
        negative_sum,
        polarity,
        subjectivity,
        polarity * subjectivity,
        float(min(cleaned.count("!"), _EXCLAMATION_CAP)),
        1.0 if "?" in cleaned else 0.0,
        shouting,
        elongated,
        1.0 if link else 0.0,
        min(word_count / _LENGTH_UNIT_WORDS, _LENGTH_CAP),
        *(1.0 if compound > step else 0.0 for step in COMPOUND_STEPS),
        *(1.0 if polarity > step else 0.0 for step in TEXTBLOB_STEPS),
    )
    return Features(dense, words, subjectivity, tuple(notes))


@cache
def shipped_model() -> SentimentModel:
    """The model that ships in the package, read once."""
    raw = resources.files("scoring").joinpath(MODEL_RESOURCE).read_text(encoding="utf-8")
    return SentimentModel.from_dict(json.loads(raw))


@cache
def _textblob() -> Any:
    """TextBlob's English sentiment lexicon and rules (`textblob.en.sentiment`), alone.

    `import textblob` imports its whole toolkit (NLTK, and with it SciPy where installed):
    1.8 s and about 100 MB for the one part used here, which needs only the standard library.
    So the `textblob` package's own `__init__` is stood in for by an empty shell while its
    `en` module loads; the real one loads as usual if anything else imports `textblob`.
    """
    if "textblob" in sys.modules:
        from textblob.en import sentiment

        return sentiment
    spec = importlib.util.find_spec("textblob")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("textblob is not installed")
    shell = types.ModuleType("textblob")
    shell.__path__ = list(spec.submodule_search_locations)
    sys.modules["textblob"] = shell
    try:
        from textblob.en import sentiment
    finally:
        if sys.modules.get("textblob") is shell:
            del sys.modules["textblob"]
    return sentiment


@cache
def _vader() -> Any:
    """VADER with the support words added to its own lexicon."""
    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(SUPPORT_VALENCES)
    return analyzer


@cache
def _known_words() -> frozenset[str]:
    return frozenset(_vader().lexicon) | frozenset(_textblob().keys())


def _triple(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c


def _cues(shares: dict[str, float]) -> list[str]:
    """The largest contributions to the rating, in polarity units, biggest first."""
    threshold = CUE_MIN_CONTRIBUTION * RATING_SCALE
    big = sorted(
        ((name, share) for name, share in shares.items() if abs(share) >= threshold),
        key=lambda item: (-abs(item[1]), item[0]),
    )
    return [f"{name} {share / RATING_SCALE:+.2f}" for name, share in big[:MAX_CUES]]


def _word_cue(word: str) -> str:
    if word.startswith(NEGATED_PREFIX):
        return f"negated '{word.removeprefix(NEGATED_PREFIX)}'"
    return f"'{word}'"


def _read_emoji(emoji: str, notes: list[str]) -> str:
    word = EMOJI_WORDS[emoji]
    note = f"{emoji} read as '{word}'"
    if note not in notes:
        notes.append(note)
    return f" {word} "


def _read_phrase(match: re.Match[str], *, word: str, notes: list[str]) -> str:
    note = f"'{match.group(0)}' read as '{word}'"
    if note not in notes:
        notes.append(note)
    return word


def _shorten(word: str, notes: list[str]) -> str:
    """Shorten letter runs to two, or to one, whichever a lexicon knows ("gooood" → "good")."""
    two = _RUN.sub(r"\1\1", word)
    one = _RUN.sub(r"\1", word)
    known = _known_words()
    short = two if two.lower() in known else one if one.lower() in known else two
    if sum(note.startswith("elongated") for note in notes) < MAX_NOTES_PER_KIND:
        notes.append(f"elongated '{word}'")
    return short


def _spell_out_negation(match: re.Match[str]) -> str:
    """ "can't" → "can not", "isn't" and "isnt" → "is not": TextBlob only sees a lone "not"."""
    whole = match.group(0)
    if match.group(1):
        return match.group(1) + " not"
    return _IRREGULAR_NEGATIONS.get(whole.lower(), " not")


def _words(tokens: list[str]) -> frozenset[str]:
    """The distinct tokens, runs of `!` or `?` cut to two, negated ones prefixed `NOT_`."""
    words: set[str] = set()
    negated = False
    for token in tokens:
        if token[0] in _SCOPE_END:
            negated = False
            words.add(token[:2])
            continue
        words.add(NEGATED_PREFIX + token if negated else token)
        if token in _NEGATORS:
            negated = True
    return frozenset(words)


def _valence_sums(words: frozenset[str]) -> tuple[float, float]:
    """Positive and negative VADER valence of the distinct words, a negated word's flipped.

    Summed with `math.fsum`, exact whatever order the set gives, so the features (and a
    model trained on them) do not depend on the process's string hashing.
    """
    lexicon = _vader().lexicon
    positive: list[float] = []
    negative: list[float] = []
    for word in words:
        negated = word.startswith(NEGATED_PREFIX)
        valence = lexicon.get(word.removeprefix(NEGATED_PREFIX) if negated else word)
        if valence is None:
            continue
        if negated:
            valence *= VADER_NEGATION_SCALAR
        if valence > 0:
            positive.append(valence)
        else:
            negative.append(-valence)
    return math.fsum(positive) / RATING_SCALE, math.fsum(negative) / RATING_SCALE


def _textblob_tokens(tokens: list[str]) -> list[str]:
    """Tokens as TextBlob's tokenizer gives them: one `!` each, so each one boosts."""
    out: list[str] = []
    for token in tokens:
        if token[0] == "!":
            out.extend(token)
        else:
            out.append(token)
    return out


# Function words that mark a language, chosen so that none is common in English.
def _wordset(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


_ENGLISH_WORDS = _wordset(
    "the a an and is are was were i you it to of in on for with my this that not but be "
    "have has at so me we they just your what if or"
)
_OTHER_LANGUAGES = {
    "Spanish": _wordset("el los las del que por para con una es muy pero como está esta y"),
    "Portuguese": _wordset("não uma com para muito mas você está isso os da em que é"),
    "French": _wordset("le les des est une et pas pour avec très mais je c'est sur du au qui"),
    "German": _wordset("der das und ist nicht ein eine ich mit sehr aber auf für zu es"),
    "Italian": _wordset("il che di è per non una sono molto ma con gli della questo"),
    "Dutch": _wordset("het een niet van en ik zijn voor maar heel dat"),
}
_LETTER = re.compile(r"[^\W\d_]")
# Letters outside Basic Latin, Latin-1, Latin Extended-A/B and Latin Extended Additional.
_NON_LATIN_LETTER = re.compile(r"[^\W\d_\u0000-\u024f\u1e00-\u1eff]")
_LANGUAGE_MIN_HITS = 2
_NON_LATIN_MAX_SHARE = 0.5


def _language_reason(text: str) -> str | None:
    """Say why `text` reads as another language, or None.

    Two cheap checks, no model: (1) more than half of its letters are outside the Latin
    script (Cyrillic, Arabic, CJK, ...); (2) at least two distinct function words of one
    of six common Latin-script languages, and more of them than English function words.
    Short foreign phrases without two such words slip through and are judged as English.
    """
    if not text.isascii():
        letters = len(_LETTER.findall(text))
        if len(_NON_LATIN_LETTER.findall(text)) > _NON_LATIN_MAX_SHARE * letters:
            return "not English: mostly non-Latin script"
    words = set(re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower()))
    english = len(words & _ENGLISH_WORDS)
    hits, language = max((len(words & vocab), name) for name, vocab in _OTHER_LANGUAGES.items())
    if hits >= _LANGUAGE_MIN_HITS and hits > english:
        return f"not English: reads as {language}"
    return None
