"""Sentiment: known texts, texts it refuses to judge, and properties of every answer."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import sentiment
from scoring.sentiment import EMOJI_WORDS, Sentiment, analyze, blend_stars


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love this, best purchase ever!", "positive"),
        ("Thanks so much for the quick help!", "positive"),
        ("This is the worst service I have ever had.", "negative"),
        ("Acme is terrible, the worst outage ever.", "negative"),
        ("I HATE waiting on hold", "negative"),
        ("Worst. App. Ever.", "negative"),
        ("not happy with the update", "negative"),
        ("The meeting is at 3pm in room 4.", "neutral"),
        ("The package arrives on Tuesday.", "neutral"),
    ],
)
def test_known_texts_get_the_label_people_would_give(text: str, label: str) -> None:
    assert analyze(text).label == label


# What a support team reads on a card: complaints about bills and silence read negative,
# thanks for a fix read positive, whatever words the rated data lacked.
@pytest.mark.parametrize(
    ("text", "label"),
    [
        (
            "I was charged twice for my Acme Cloud plan on the 1st and support hasn't answered "
            "in three days. I need a refund before rent is due. Is this happening to anyone else?",
            "negative",
        ),
        ("Acme double charged me this month, please sort it out", "negative"),
        ("Still no response to my ticket from last week.", "negative"),
        ("The app keeps crashing since the update and I lost my draft.", "negative"),
        ("I want a refund, this plan does nothing it promised.", "negative"),
        ("Support fixed my billing issue in ten minutes, thank you so much!", "positive"),
        ("Got my refund the same day, great service from Acme.", "positive"),
        ("Thanks to the Acme team for answering so fast, all sorted now.", "positive"),
    ],
)
def test_support_messages_read_as_the_customer_means_them(text: str, label: str) -> None:
    assert analyze(text).label == label


def test_support_phrases_are_read_as_one_word_and_noted() -> None:
    cues = analyze("They charged me twice and support hasn't answered.").cues

    assert "'charged me twice' read as 'overcharged'" in cues
    assert "'hasn't answered' read as 'unanswered'" in cues
    assert "'no reply' read as 'unanswered'" in analyze("Still no reply from Acme.").cues


def test_a_contracted_negation_turns_praise_negative() -> None:
    # Plain TextBlob rates "isn't good" as positive (+0.7).
    assert analyze("This is good").polarity > 0 > analyze("This isn't good").polarity
    assert analyze("This isnt good").label == "negative"


def test_html_entities_are_decoded_before_reading() -> None:
    assert analyze("I &lt;3 this").label == "positive"


@pytest.mark.parametrize(("text", "label"), [("😡😡", "negative"), ("👍", "positive")])
def test_emoji_alone_carry_sentiment_and_say_how_they_were_read(text: str, label: str) -> None:
    result = analyze(text)

    assert result.label == label
    assert any("read as" in cue for cue in result.cues)


def test_elongated_words_are_read_as_the_word_and_noted() -> None:
    result = analyze("soooo goooood")

    assert result.label == "positive"
    assert "elongated 'goooood'" in result.cues


def test_hashtags_are_read_as_words() -> None:
    assert analyze("#fail").label == "negative"


def test_cues_name_the_lexicons_and_words_behind_the_polarity() -> None:
    cues = analyze("I love this, best purchase ever!").cues

    assert any(cue.startswith("VADER lexicon +") for cue in cues)
    assert any(cue.startswith("'love' +") for cue in cues)


def test_step_features_follow_the_lexicon_scores() -> None:
    names = sentiment.DENSE_FEATURES
    for text in ("I love this, best purchase ever!", "meh", "This is the worst, I hate it"):
        dense = dict(zip(names, sentiment.extract_features(text).dense, strict=True))
        for step in sentiment.COMPOUND_STEPS:
            above = dense["vader_compound"] > step
            assert dense[f"vader_compound_above_{step:+.2f}"] == (1.0 if above else 0.0)
        for step in sentiment.TEXTBLOB_STEPS:
            above = dense["textblob_polarity"] > step
            assert dense[f"textblob_polarity_above_{step:+.2f}"] == (1.0 if above else 0.0)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no words to judge"),
        ("!!!", "no words to judge"),
        ("12345", "no words to judge"),
        ("https://example.com/a?b=c @acme", "no words to judge"),
        ("Это ужасный сервис", "not English: mostly non-Latin script"),
        ("ありがとうございます", "not English: mostly non-Latin script"),
        ("Me encanta este producto, es muy bueno", "not English: reads as Spanish"),
        ("Das ist nicht gut und ich bin sehr enttäuscht", "not English: reads as German"),
        ("C'est une catastrophe, je suis très déçu", "not English: reads as French"),
    ],
)
def test_text_it_cannot_judge_is_unknown_with_the_reason(text: str, reason: str) -> None:
    result = analyze(text)

    assert (result.label, result.polarity, result.cues) == ("unknown", 0.0, [reason])


def test_english_with_a_few_foreign_words_is_still_judged() -> None:
    assert analyze("I had dinner at La Casa del Sol, it was great").label == "positive"


def test_every_emoji_is_read_as_something_vader_rates() -> None:
    lexicon = sentiment._vader().lexicon

    assert all(word.lower() in lexicon for word in EMOJI_WORDS.values())


def test_the_shipped_model_is_trained_on_the_four_dev_halves_only() -> None:
    raw = resources.files("scoring").joinpath(sentiment.MODEL_RESOURCE).read_bytes()
    provenance = json.loads(raw)["provenance"]

    # A word a line: 12,000 words learned from 11,800 texts.
    assert len(raw) < 1_500_000
    for name in ("tweets", "product_reviews", "news_editorials", "movie_reviews"):
        assert f"{name}_dev.tsv (" in provenance
    assert sentiment.shipped_model().version == "sentiment-3"


def test_a_model_trained_on_other_features_is_refused() -> None:
    with pytest.raises(ValueError, match="different features"):
        sentiment.SentimentModel.from_dict({"features": ["just_one"]})


social_text = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(
            ["good", "bad", "not", "isn't", "LOVE", "sooo", "!!!", "?", "#fail", "@acme",
             "http://x.co/a", ":)", ":(", "😡", "👍", "&amp;", "refund", "the", "el", "der"]
        ),
        max_size=12,
    ).map(" ".join),
)  # fmt: skip


@settings(max_examples=300, deadline=None, database=None)
@given(social_text)
def test_every_answer_is_bounded_labelled_and_consistent(text: str) -> None:
    result = analyze(text)

    assert -1.0 <= result.polarity <= 1.0
    assert 0.0 <= result.subjectivity <= 1.0
    assert result.label in ("negative", "neutral", "positive", "unknown")
    if result.label == "positive":
        assert result.polarity > 0
    if result.label == "negative":
        assert result.polarity < 0
    if result.label == "unknown":
        assert result.polarity == 0.0 and result.cues


@settings(max_examples=100, deadline=None, database=None)
@given(social_text)
def test_the_same_text_always_gets_the_same_answer(text: str) -> None:
    assert analyze(text) == analyze(text)


GLOWING = Sentiment(0.5, 0.6, "positive", ["'love' +0.30"])


def test_a_reviews_stars_lead_and_its_words_refine() -> None:
    # 2 stars read as -0.5: 0.7 * -0.5 + 0.3 * 0.5 = -0.2.
    assert blend_stars(GLOWING, 2) == Sentiment(
        -0.2, 0.6, "negative", ["2/5 stars", "'love' +0.30"]
    )


def test_a_one_star_review_reads_negative_however_glowing_its_words() -> None:
    result = blend_stars(analyze("Gorgeous design, I love the colours!"), 1)

    assert result.label == "negative"
    assert result.polarity <= -0.4
    assert result.cues[0] == "1/5 stars"


@pytest.mark.parametrize(
    ("stars", "label"),
    [(1, "negative"), (2, "negative"), (3, "neutral"), (4, "positive"), (5, "positive")],
)
def test_the_label_is_the_reviewers_verdict(stars: int, label: str) -> None:
    scathing = Sentiment(-0.9, 0.8, "negative")

    assert blend_stars(GLOWING, stars).label == blend_stars(scathing, stars).label == label


def test_stars_alone_decide_when_the_words_cannot_be_judged() -> None:
    unknown = Sentiment(0.0, 0.0, "unknown", ["no words to judge"])

    assert blend_stars(unknown, 5) == Sentiment(
        1.0, 0.0, "positive", ["5/5 stars", "no words to judge"]
    )
    assert blend_stars(unknown, 3).polarity == 0.0


@pytest.mark.parametrize("stars", [None, 0, 6])
def test_without_a_rating_in_one_to_five_the_words_stand(stars: int | None) -> None:
    assert blend_stars(GLOWING, stars) == GLOWING


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.builds(
        Sentiment,
        polarity=st.floats(min_value=-1, max_value=1),
        subjectivity=st.floats(min_value=0, max_value=1),
        label=st.sampled_from(["negative", "neutral", "positive", "unknown"]),
    ),
    st.integers(min_value=1, max_value=5),
)
def test_a_blended_polarity_lies_between_stars_and_words_and_agrees_with_the_label(
    words: Sentiment, stars: int
) -> None:
    result = blend_stars(words, stars)
    from_stars = (stars - 3) / 2
    from_words = words.polarity if words.label != "unknown" else from_stars

    assert (
        min(from_stars, from_words) - 0.001
        <= result.polarity
        <= max(from_stars, from_words) + 0.001
    )
    if result.label == "positive":
        assert result.polarity > 0
    if result.label == "negative":
        assert result.polarity < 0
