"""Frame sampling through the ffmpeg pipe."""

import numpy as np
import pytest

from training.inputs.ffmpeg import MediaDecodeError, MissingStreamError
from training.inputs.video import read_frames


def test_frames_are_sampled_at_the_requested_rate_and_square_size(synthetic_media):
    frames = read_frames(synthetic_media["clip"], fps=5, size=32)
    assert frames.dtype == np.uint8
    assert frames.shape == (10, 32, 32, 3)  # 2 s at 5 fps, 160x120 scaled to 43x32 and centre-cropped
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1  # the pattern moves


def test_max_frames_stops_early(synthetic_media):
    assert read_frames(synthetic_media["clip"], fps=25, size=16, max_frames=3).shape == (3, 16, 16, 3)


def test_centre_crop_keeps_the_aspect_ratio(tmp_path, synthetic_media):
    from tests.training.inputs.conftest import make_media

    # Left half red, right half blue, 2:1 wide: the centre square must show both, split down the middle.
    video = make_media(
        tmp_path / "halves.mp4",
        *("-f", "lavfi", "-i", "color=red:size=64x32:rate=5:duration=1"),
        *("-f", "lavfi", "-i", "color=blue:size=32x32:rate=5:duration=1"),
        *("-filter_complex", "[0:v][1:v]overlay=x=32", "-c:v", "mpeg4", "-q:v", "1"),
    )
    frame = read_frames(video, fps=5, size=16, max_frames=1)[0].astype(int)
    assert frame[8, 2, 0] > 150 and frame[8, 2, 2] < 100  # red on the left edge of the crop
    assert frame[8, 13, 2] > 150 and frame[8, 13, 0] < 100  # blue on the right edge


def test_bad_inputs_are_clear_errors(tmp_path, synthetic_media):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_frames(tmp_path / "nope.mp4", fps=5, size=32)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    with pytest.raises(MediaDecodeError, match=r"broken\.mp4"):
        read_frames(broken, fps=5, size=32)
    with pytest.raises(MissingStreamError, match="has no video stream"):
        read_frames(synthetic_media["left_only"], fps=5, size=32)
    with pytest.raises(ValueError, match="fps must be positive"):
        read_frames(synthetic_media["clip"], fps=0, size=32)
