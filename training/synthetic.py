"""A synthetic 2AFC data set with a planted audio-visual rule, on real (tiny) media files.

Videos are windows onto a random blocky texture: half of them pan across it (motion), half stand
still. Music excerpts are amplitude-modulated sine tones: half high and fast (1.2-2.4 kHz carrier,
6-9 Hz beat), half low and slow (150-300 Hz, 0.7-1.5 Hz). A simulated rater prefers the track that
matches the video's motion (moving - fast/high, still - slow/low) with probability ``p_rule``.
Every 2AFC trial offers one matching and one non-matching track, so the rule is the only signal.

The texture statistics are the same for both kinds of video, so a single RGB frame says nothing
about the answer: the rule can only be learnt through the motion (flow) stream and the audio
stream. That makes the data set a check that the whole pipeline (decoding, flow, backbones, cache,
head, split by video) carries motion and audio information end to end, even with random-init
backbones. Media are written by ffmpeg; nothing is copied from the shared sample library.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from training.data.write import write_export
from training.errors import TrainingInputError


@dataclass(frozen=True)
class PlantedRule:
    n_videos: int = 40
    n_tracks: int = 12
    trials_per_video: int = 6
    p_rule: float = 0.95
    seed: int = 0
    size: int = 96
    clip_seconds: float = 1.2
    excerpt_seconds: float = 2.0
    fps: int = 25


def _ffmpeg(*args: str) -> None:
    from mvfit_common.ffmpeg import ffmpeg_binary

    command = [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        raise TrainingInputError(f"ffmpeg failed: {result.stderr.decode('utf-8', 'replace').strip()[-400:]}")


def _texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Random coloured blocks (block size 4-12 px): plenty of edges for optical flow to track."""
    block = int(rng.integers(4, 13))
    small = rng.integers(0, 256, size=(height // block + 1, width // block + 1, 3), dtype=np.uint8)
    return np.repeat(np.repeat(small, block, axis=0), block, axis=1)[:height, :width]


def _write_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(image).save(path)


def make_clip(path: Path, *, moving: bool, rng: np.random.Generator, rule: PlantedRule) -> None:
    size = rule.size
    canvas_w, canvas_h = 4 * size, 2 * size
    texture = path.with_suffix(".png")
    _write_png(texture, _texture(rng, canvas_w, canvas_h))
    # Start in the middle of the canvas so a pan of up to 1.2 s never runs off its edge.
    x0, y0 = int(1.5 * size + rng.integers(0, size // 2)), int(size // 2 + rng.integers(0, size // 4))
    if moving:
        speed = float(rng.uniform(40, 80)) * size / 96  # pixels per second, ~2-3 px per frame at 25 fps
        direction = rng.choice([-1.0, 1.0])
        x = f"{x0}+{direction * speed:.2f}*t"
        y = f"{y0}+{rng.uniform(-0.3, 0.3) * speed:.2f}*t"
    else:
        x, y = str(x0), str(y0)
    _ffmpeg(
        *("-loop", "1", "-framerate", str(rule.fps), "-i", str(texture)),
        *("-vf", f"crop={size}:{size}:'{x}':'{y}',format=yuv420p", "-t", f"{rule.clip_seconds}"),
        *("-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-an", str(path)),
    )
    texture.unlink()


def make_excerpt(path: Path, *, fast_high: bool, rng: np.random.Generator, rule: PlantedRule) -> None:
    carrier = rng.uniform(1200, 2400) if fast_high else rng.uniform(150, 300)
    beat = rng.uniform(6, 9) if fast_high else rng.uniform(0.7, 1.5)
    expression = f"0.5*sin(2*PI*{carrier:.1f}*t)*(0.55+0.45*sin(2*PI*{beat:.2f}*t))"
    _ffmpeg(
        *("-f", "lavfi", "-i", f"aevalsrc='{expression}':s=44100:d={rule.excerpt_seconds}"),
        *("-c:a", "aac", "-b:a", "96k", str(path)),
    )


def make_planted_export(directory: str | Path, rule: PlantedRule = PlantedRule(), *, progress: bool = True) -> Path:
    """Write media/ and an export (stimuli.csv, choices.csv, manifest.json) into ``directory``."""
    if rule.n_videos < 6 or rule.n_tracks < 4 or not 0.5 <= rule.p_rule <= 1:
        raise TrainingInputError("need >= 6 videos, >= 4 tracks and 0.5 <= p_rule <= 1 for a planted-rule data set.")
    directory = Path(directory)
    media = directory / "media"
    media.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(rule.seed)
    moving = np.arange(rule.n_videos) % 2 == 0
    fast_high = np.arange(rule.n_tracks) % 2 == 0
    stimuli = []
    for i in tqdm(range(rule.n_videos), desc="synthetic clips", unit="clip", disable=not progress):
        path = media / f"clip{i + 1:03d}.mp4"
        make_clip(path, moving=bool(moving[i]), rng=rng, rule=rule)
        stimuli.append(
            {
                "item_kind": "clip",
                "item_id": i + 1,
                "source_id": i + 1,
                "label": "moving" if moving[i] else "still",
                "duration_s": rule.clip_seconds,
                "seed": rule.seed,
                "file": str(path.resolve()),
            }
        )
    for j in tqdm(range(rule.n_tracks), desc="synthetic excerpts", unit="excerpt", disable=not progress):
        path = media / f"excerpt{j + 1:03d}.m4a"
        make_excerpt(path, fast_high=bool(fast_high[j]), rng=rng, rule=rule)
        stimuli.append(
            {
                "item_kind": "excerpt",
                "item_id": j + 1,
                "source_id": j + 1,
                "label": "fast-high" if fast_high[j] else "slow-low",
                "duration_s": rule.excerpt_seconds,
                "seed": rule.seed,
                "file": str(path.resolve()),
            }
        )
    choices = []
    for i in range(rule.n_videos):
        matching = np.flatnonzero(fast_high == moving[i])
        other = np.flatnonzero(fast_high != moving[i])
        worker = f"W{int(rng.integers(0, 2**62)):016x}"
        for t in range(rule.trials_per_video):
            good, bad = int(rng.choice(matching)), int(rng.choice(other))
            left, right = (good, bad) if rng.random() < 0.5 else (bad, good)
            follows_rule = rng.random() < rule.p_rule
            chosen = left if (left == good) == follows_rule else right
            choices.append(
                {
                    "worker_id": worker,
                    "assignment_id": i + 1,
                    "experiment_id": 1,
                    "trial_index": t,
                    "direction": "V2M",
                    "condition": "none",
                    "query_id": i + 1,
                    "query_label": stimuli[i]["label"],
                    "query_source_id": i + 1,
                    "left_id": left + 1,
                    "left_label": "fast-high" if fast_high[left] else "slow-low",
                    "left_source_id": left + 1,
                    "right_id": right + 1,
                    "right_label": "fast-high" if fast_high[right] else "slow-low",
                    "right_source_id": right + 1,
                    "chosen_side": "left" if chosen == left else "right",
                }
            )
    return write_export(
        directory,
        stimuli=pd.DataFrame(stimuli),
        choices=pd.DataFrame(choices),
        source="mvfit training.synthetic (planted motion-tempo rule)",
        simulation={"rule": "moving video <-> fast high-pitched track", **rule.__dict__},
    )
