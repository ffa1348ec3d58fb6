"""Encoding settings and pictures for the media the experiments app generates itself (audio checks,
attention-check stimuli). ffmpeg itself is run through :mod:`annotation.media.ffmpeg`, the one place that
knows how the binary is found and invoked.
"""

from __future__ import annotations

from pathlib import Path

# Every file a worker's browser plays: H.264 (yuv420p, even size) + AAC in MP4 with the index up
# front, so playback can start before the download ends.
VIDEO_OUT = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
AUDIO_OUT = ["-c:a", "aac", "-b:a", "128k", "-ar", "44100", "-ac", "2"]


def render_text_frame(text: str, path: Path, *, size: tuple[int, int] = (640, 360)) -> None:
    """A dark frame with centred white text (Pillow's bundled font, so no system fonts are needed)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, (24, 24, 32))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=30)
    lines = _wrap(text, draw, font, size[0] - 60)
    heights = [draw.textbbox((0, 0), line, font=font)[3] for line in lines]
    y = (size[1] - sum(heights) - 12 * (len(lines) - 1)) // 2
    for line, height in zip(lines, heights, strict=True):
        width = draw.textlength(line, font=font)
        draw.text(((size[0] - width) / 2, y), line, font=font, fill=(250, 250, 250))
        y += height + 12
    image.save(path)


def _wrap(text: str, draw, font, max_width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= max_width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    return [*lines, current] if current else lines
