"""The ExternalQuestion document."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mturk.question import EXTERNAL_QUESTION_NS, external_question_xml, parse_external_question


def test_external_question_follows_the_schema():
    xml = external_question_xml("https://mvfit.example.org/mturk/e/3/?a=1&b=2", frame_height=800)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_NS}">' in xml
    assert "<ExternalURL>https://mvfit.example.org/mturk/e/3/?a=1&amp;b=2</ExternalURL>" in xml
    assert "<FrameHeight>800</FrameHeight>" in xml


@given(
    path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
    height=st.integers(min_value=0, max_value=4000),
)
def test_any_url_round_trips(path, height):
    url = "https://mvfit.example.org/" + path
    assert parse_external_question(external_question_xml(url, frame_height=height)) == (url, height)


@pytest.mark.parametrize("height", [-1, 4001])
def test_frame_height_is_bounded(height):
    with pytest.raises(ValueError, match="Frame height"):
        external_question_xml("https://x.org/", frame_height=height)


def test_oversized_question_is_refused():
    with pytest.raises(ValueError, match="64 KB"):
        external_question_xml("https://x.org/" + "a" * 70_000, frame_height=0)
