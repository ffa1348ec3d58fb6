"""Probing with ffmpeg alone: header parsing, decode pass, and validation reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.media import (
    MediaError,
    MediaKind,
    MediaRejected,
    ValidationRules,
    check,
    check_header,
    probe,
    probe_header,
    run_ffmpeg,
)
from annotation.media.ffmpeg import ffmpeg_binary
from annotation.media.probe import MediaInfo, VideoStream, parse_ffmpeg_log

HEADER = """\
[info] Input #0, ogg, from 'x.ogg':
[info]   Duration: 00:01:01.46, start: 0.000000, bitrate: 189 kb/s
[info]   Stream #0:0: Audio: vorbis, 44100 Hz, 5.1(side), fltp, 224 kb/s
[info]   Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc), 720x720 [SAR 72:72 DAR 1:1], 90k tbr, 90k tbn (attached pic)
[info]   Stream #0:2[0x3](eng): Video: hevc (Main) (hvc1 / 0x31637668), yuvj420p(pc, bt709), 1920x1080, 8082 kb/s, SAR 1:1 DAR 16:9, 30 tbr, 90k tbn (default)
[info]   Stream #0:3: Subtitle: subrip
[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (vorbis (native) -> pcm_s16le (native))
[info]   Stream #0:0: Audio: pcm_s16le, 48000 Hz, mono, s16, 1411 kb/s
[Parsed_silencedetect_0 @ 0x7f8228001cc0] [info] silence_start: 60.355578
[Parsed_silencedetect_0 @ 0x7f8228001cc0] [info] silence_end: 61.458866 | silence_duration: 1.103288
[mp3float @ 0x5626e8b83ec0] [error] Header missing
[Parsed_volumedetect_0 @ 0x559d43e042c0] [info] max_volume: -inf dB
[Parsed_volumedetect_1 @ 0x7f8228002100] [info] max_volume: -0.4 dB
[info] size=N/A time=00:01:01.45 bitrate=N/A speed= 316x elapsed=0:00:00.19
"""


def test_the_ffmpeg_log_is_parsed_into_stream_facts():
    info = parse_ffmpeg_log(Path("x.ogg"), HEADER)
    assert info.container == "ogg"
    assert info.declared_duration_s == pytest.approx(61.46)
    assert info.decoded_duration_s == pytest.approx(61.45)
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("vorbis", 44100, 6)
    assert info.has_cover_art
    assert info.video == VideoStream(codec="hevc", width=1920, height=1080, fps=30.0)  # tbr fallback, not cover art
    assert info.other_streams == ["subtitle:subrip"]
    assert info.max_volume_db == pytest.approx(-0.4)  # the last (real) measurement
    assert info.silences == [(60.355578, 61.458866)]
    assert info.decode_errors == ["[mp3float] Header missing"]


def test_probe_of_real_files(media_files):
    video = probe(media_files["music_video"])
    assert (video.video.width, video.video.height, video.video.fps) == (96, 64, 10.0)
    assert video.audio.codec == "aac" and video.max_volume_db > -20
    late = probe(media_files["late_start"])
    assert late.silences[0][0] == 0.0 and late.silences[0][1] == pytest.approx(3.0, abs=0.1)


def info(**fields) -> MediaInfo:
    base = {
        "path": Path("f.mp4"),
        "container": "mov,mp4",
        "declared_duration_s": 10.0,
        "decoded_duration_s": 10.0,
        "video": VideoStream("h264", 640, 360, 25.0),
    }
    return MediaInfo(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "kind", "reason"),
    [
        (
            {"decoded_duration_s": 6.0},
            MediaKind.VIDEO,
            "truncated: decodes to 6.00 s of the 10.00 s its header declares",
        ),
        ({"decode_errors": ["[h264] error"] * 9}, MediaKind.VIDEO, "corrupt: 9 decoding errors (first: [h264] error)"),
        ({"container": "png_pipe"}, MediaKind.VIDEO, "a still image (png_pipe), not a video"),
        ({"video": None}, MediaKind.VIDEO, "unsupported: no audio or video stream (found nothing)"),
        ({"declared_duration_s": 0.5, "decoded_duration_s": 0.5}, MediaKind.VIDEO, "too short: 0.50 s (minimum 1 s)"),
        (
            {"decoded_duration_s": 0.0},
            MediaKind.VIDEO,
            "truncated: decodes to 0.00 s of the 10.00 s its header declares",
        ),
        (
            {"declared_duration_s": None, "decoded_duration_s": None},
            MediaKind.VIDEO,
            "corrupt: nothing could be decoded",
        ),
    ],
)
def test_validation_gives_one_clear_reason(fields, kind, reason):
    with pytest.raises(MediaRejected) as excinfo:
        check(info(**fields), kind=kind)
    assert str(excinfo.value) == reason


def test_a_few_broken_frames_are_tolerated_but_the_threshold_is_configurable():
    slightly_damaged = info(decode_errors=["[mp3float] Header missing", "Error submitting packet"])
    check(slightly_damaged, kind=MediaKind.VIDEO)
    with pytest.raises(MediaRejected, match="corrupt: 2 decoding errors"):
        check(slightly_damaged, kind=MediaKind.VIDEO, rules=ValidationRules(max_decode_errors=1))


def test_a_configured_ffmpeg_that_does_not_exist_is_a_clear_error(tmp_path, settings):
    settings.FFMPEG_BINARY = str(tmp_path / "no-ffmpeg")
    with pytest.raises(MediaError, match="is not an executable file"):
        ffmpeg_binary()


@pytest.mark.parametrize(
    ("fields", "rules", "reason"),
    [
        (
            {"declared_duration_s": 1200.0},
            ValidationRules(max_duration_s=900),
            "too long: 1200.0 s (the limit is 900 s)",
        ),
        (
            {"video": VideoStream("h264", 3840, 2160, 25.0)},
            ValidationRules(max_video_size=(1920, 1080)),
            "frame too large: 3840x2160 (the limit is 1920x1080, either orientation)",
        ),
        (
            {"video": VideoStream("h264", 1080, 2000, 25.0)},
            ValidationRules(max_video_size=(1920, 1080)),
            "frame too large: 1080x2000 (the limit is 1920x1080, either orientation)",
        ),
        ({"container": "png_pipe"}, ValidationRules(), "unsupported container 'png_pipe' (accepted: mov, matroska,"),
        ({"container": "hls"}, ValidationRules(), "unsupported container 'hls' (accepted: mov, matroska,"),
        ({"open_error": "[in#0] Format not on whitelist 'mov,...'"}, ValidationRules(), "unsupported format: not an"),
    ],
)
def test_the_header_check_refuses_what_is_over_the_limits_or_not_media(fields, rules, reason):
    with pytest.raises(MediaRejected) as excinfo:
        check_header(info(decoded_duration_s=None, **fields), rules=rules)
    assert str(excinfo.value).startswith(reason)


def test_the_header_check_passes_portrait_video_and_unknown_durations():
    rules = ValidationRules(max_duration_s=900, max_video_size=(1920, 1080))
    check_header(info(video=VideoStream("h264", 1080, 1920, 30.0), decoded_duration_s=None), rules=rules)
    check_header(info(declared_duration_s=None, decoded_duration_s=None), rules=rules)  # the decode is bounded


def test_the_header_probe_reads_the_header_and_decodes_nothing(media_files):
    header = probe_header(media_files["music_video"])
    assert header.open_error is None and header.decode_errors == []
    assert header.container.startswith("mov,mp4") and header.declared_duration_s == pytest.approx(4.0, abs=0.1)
    assert (header.video.width, header.video.height) == (96, 64) and header.audio.codec == "aac"
    assert header.decoded_duration_s is None and header.max_volume_db is None


def test_ffmpeg_may_only_use_the_accepted_demuxers(tmp_path, media_files):
    # A PNG named .mp4 and an HLS playlist (which would make ffmpeg open other files) do not open at all.
    picture = tmp_path / "picture.mp4"
    source = ["-f", "lavfi", "-i", "testsrc2=size=64x64:d=1", "-frames:v", "1"]
    run_ffmpeg(["-y", "-loglevel", "error", *source, "-f", "image2", "-c:v", "png", str(picture)])
    playlist = tmp_path / "list.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n{media_files['video']}\n#EXT-X-ENDLIST\n")

    for path in (picture, playlist):
        for result in (probe_header(path), probe(path)):
            assert result.open_error, path
            with pytest.raises(MediaRejected, match=r"unsupported format|not a readable audio or video file"):
                check_header(result)
