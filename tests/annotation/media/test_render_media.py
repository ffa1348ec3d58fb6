"""The ffmpeg render steps on plain files: exact lengths, loudness normalisation, stream-copy mux."""

from __future__ import annotations

import pytest

from annotation.media import probe, run_ffmpeg
from annotation.media.render import RenderSpec, mux_pairings, prepare_music_excerpt, prepare_video_clip
from annotation.media.synthetic import make_music

SPEC = RenderSpec(width=64, height=48, fps=10, preset="ultrafast")


def test_a_clip_has_the_spec_size_no_audio_and_its_exact_length_even_past_the_source_end(tmp_path, media_files):
    out = tmp_path / "clip.mp4"
    # The source is 4 s long: asking for 3 s from 2.5 s runs 1.5 s past its end; the last frame is held.
    prepare_video_clip(source=media_files["music_video"], output=out, start_s=2.5, duration_s=3.0, spec=SPEC)
    info = probe(out)
    assert (info.video.width, info.video.height, info.video.fps) == (64, 48, 10.0)
    assert info.audio is None
    assert info.decoded_duration_s == pytest.approx(3.0, abs=0.11)


@pytest.mark.parametrize("gain_db", [-30, 0])
def test_excerpts_are_normalised_to_the_target_loudness(tmp_path, gain_db):
    source = make_music(tmp_path / "m.wav", duration_s=4.0, style="chords", seed=gain_db + 40)
    quiet = tmp_path / "quiet.wav"
    run_ffmpeg(["-y", "-loglevel", "error", "-i", str(source), "-af", f"volume={gain_db}dB", str(quiet)])
    out = tmp_path / "excerpt.m4a"
    lufs = prepare_music_excerpt(source=quiet, output=out, start_s=0.5, duration_s=3.0, spec=SPEC)

    assert lufs == pytest.approx(SPEC.loudness_lufs, abs=1.0)
    info = probe(out)
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48000, 2)
    assert info.decoded_duration_s == pytest.approx(3.0, abs=0.05)


def test_a_silent_excerpt_is_kept_silent_without_a_loudness(tmp_path, media_files):
    out = tmp_path / "silent.m4a"
    assert prepare_music_excerpt(source=media_files["silent"], output=out, start_s=0, duration_s=2.0, spec=SPEC) is None
    assert probe(out).decoded_duration_s == pytest.approx(2.0, abs=0.05)


def test_one_mux_process_writes_many_pairings_that_copy_the_inputs(tmp_path, media_files):
    clip = tmp_path / "clip.mp4"
    prepare_video_clip(source=media_files["video"], output=clip, start_s=0, duration_s=2.0, spec=SPEC)
    excerpts = []
    for i, name in enumerate(["music", "music2"]):
        excerpt = tmp_path / f"e{i}.m4a"
        prepare_music_excerpt(source=media_files[name], output=excerpt, start_s=0, duration_s=2.0, spec=SPEC)
        excerpts.append(excerpt)
    outputs = [(e, tmp_path / f"p{i}.mp4") for i, e in enumerate(excerpts)]

    mux_pairings(clip=clip, outputs=outputs)

    for excerpt, out in outputs:
        info = probe(out)
        assert info.video.codec == "h264" and info.audio.codec == "aac"
        assert not info.decode_errors
        # Stream copy: the output holds the same bytes as the inputs plus a little container overhead.
        assert out.stat().st_size < clip.stat().st_size + excerpt.stat().st_size + 4096
