"""HTTP Range handling shared by the staff /media/ view and the workers' signed media URLs."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from webapp.http import RangeNotSatisfiable, byte_range, ranged_file_response

BODY = bytes(range(256)) * 4  # 1024 distinct-enough bytes


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=10-10", (10, 10)),
        ("bytes=1000-", (1000, 1023)),  # open range
        ("bytes=0-5000", (0, 1023)),  # last byte clipped to the file
        ("bytes=-10", (1014, 1023)),  # suffix range: the last 10 bytes
        ("bytes=-5000", (0, 1023)),  # suffix longer than the file: all of it
        ("  bytes=5-9  ", (5, 9)),
    ],
)
def test_a_single_range_selects_those_bytes(header, expected):
    assert byte_range(header, len(BODY)) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=-",  # neither end
        "bytes=0-1,5-6",  # several ranges: answered with the whole file (documented in webapp/http.py)
        "items=0-1",  # another unit
        "bytes=a-b",
        "bytes 0-1",
    ],
)
def test_absent_malformed_and_multiple_ranges_mean_the_whole_file(header):
    assert byte_range(header, len(BODY)) is None


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=1024-", 1024),  # starts at the end
        ("bytes=2000-3000", 1024),
        ("bytes=9-3", 1024),  # last before first
        ("bytes=-0", 1024),  # an empty suffix
        ("bytes=0-", 0),  # nothing to send from an empty file
        ("bytes=-5", 0),
    ],
)
def test_ranges_outside_the_file_are_unsatisfiable(header, size):
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, size)


@given(size=st.integers(0, 5000), first=st.integers(0, 6000), last=st.one_of(st.none(), st.integers(0, 6000)))
def test_a_served_range_is_what_slicing_the_file_gives(size, first, last):
    header = f"bytes={first}-{'' if last is None else last}"
    stop = size if last is None else min(last + 1, size)
    try:
        served = byte_range(header, size)
    except RangeNotSatisfiable:
        assert first >= size or (last is not None and last < first)
        return
    assert served is not None and served == (first, stop - 1) and 0 <= first <= stop - 1 < size


@given(size=st.integers(1, 5000), suffix=st.integers(1, 6000))
def test_a_suffix_range_is_the_tail_of_the_file(size, suffix):
    first, last = byte_range(f"bytes=-{suffix}", size)
    assert (first, last) == (max(size - suffix, 0), size - 1)


@pytest.fixture
def stored():
    return default_storage.save("http-test/sample.bin", ContentFile(BODY))


def serve(name, **headers):
    request = RequestFactory().get("/media/x", headers=headers)
    response = ranged_file_response(request, name, content_type="video/mp4", max_age_s=60)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_the_whole_file_is_streamed_with_length_and_no_file_name(stored):
    response, body = serve(stored)
    assert response.status_code == 200 and body == BODY
    assert response["Content-Length"] == "1024" and response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private, max-age=60" and "Content-Disposition" not in response
    assert "Content-Range" not in response


def test_a_range_is_answered_with_206_and_content_range(stored):
    response, body = serve(stored, Range="bytes=1000-")
    assert response.status_code == 206 and body == BODY[1000:]
    assert response["Content-Range"] == "bytes 1000-1023/1024" and response["Content-Length"] == "24"


def test_an_unsatisfiable_range_is_416_with_the_size(stored):
    response, body = serve(stored, Range="bytes=1024-")
    assert response.status_code == 416 and response["Content-Range"] == "bytes */1024" and body == b""


def test_several_ranges_get_the_whole_file(stored):
    response, body = serve(stored, Range="bytes=0-1,5-6")
    assert response.status_code == 200 and body == BODY


def test_without_max_age_no_cache_header_is_set(stored):
    response = ranged_file_response(RequestFactory().get("/"), stored, content_type="video/mp4")
    assert "Cache-Control" not in response
