"""Outside text made plain: tags and entities gone, control characters out, emoji intact."""

from __future__ import annotations

import pytest

from bot.text import clean_text, html_to_text, strip_control

FAMILY = "👨\u200d👩\u200d👧"  # three people held together by zero-width joiners
RAINBOW_FLAG = "🏳\ufe0f\u200d🌈"


def test_html_paragraphs_become_blank_lines_and_breaks_new_lines() -> None:
    markup = "<p>Acme billed me <b>twice</b>.<br>Support never answered.</p><p>Refund?</p>"

    assert html_to_text(markup) == "Acme billed me twice.\nSupport never answered.\n\nRefund?"


def test_html_entities_are_decoded_exactly_once() -> None:
    assert html_to_text("Tom &amp; Jerry &lt;3 &amp;lt;b&amp;gt; &#8212; &eacute;") == (
        "Tom & Jerry <3 &lt;b&gt; — é"
    )


def test_html_script_and_style_contents_are_dropped() -> None:
    markup = "<style>p { color: red }</style>Hello<script>alert('acme')</script> world"

    assert html_to_text(markup) == "Hello world"


def test_html_text_that_is_not_a_tag_is_kept() -> None:
    assert html_to_text("if a < b and b > c then acme") == "if a < b and b > c then acme"


def test_html_control_characters_are_removed_even_when_written_as_entities() -> None:
    assert html_to_text("<p>pay&#8238;gpj.exe\u202e&#x1b;[0m</p>") == "paygpj.exe[0m"


def test_clean_text_folds_spaces_trims_lines_and_keeps_one_blank_line() -> None:
    messy = "  Acme \t  is\tdown  \n\n\n\n   again   \n"

    assert clean_text(messy) == "Acme is down\n\nagain"


def test_clean_text_composes_accents_so_equal_words_compare_equal() -> None:
    assert clean_text("Cafe\u0301") == "Café" == "Caf\u00e9"


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("pay\u202egpj.exe", "paygpj.exe"),  # right-to-left override
        ("\u2066isolated\u2069 \u202aembedded\u202c", "isolated embedded"),  # bidi isolates
        ("nul\x00byte", "nulbyte"),
        ("\x1b[31mred\x1b[0m", "[31mred[0m"),  # a terminal escape loses its ESC
        ("zero\u200bwidth\ufeffspace", "zerowidthspace"),
        ("bell\x07 and delete\x7f", "bell and delete"),
    ],
    ids=["rlo", "isolates", "nul", "escape", "zero-width", "c0-c1"],
)
def test_strip_control_removes_invisible_and_reordering_characters(dirty: str, clean: str) -> None:
    assert strip_control(dirty) == clean


@pytest.mark.parametrize(
    "kept",
    [FAMILY, RAINBOW_FLAG, "🇫🇷", "❤️", "👍🏽"],
    ids=["family", "rainbow-flag", "country-flag", "variation-selector", "skin-tone"],
)
def test_strip_control_keeps_emoji_sequences_whole(kept: str) -> None:
    assert strip_control(f"acme {kept}!") == f"acme {kept}!"


def test_strip_control_keeps_new_lines_and_tabs() -> None:
    assert strip_control("one\ttwo\nthree") == "one\ttwo\nthree"
