from .excerpts import MusicExcerpt, RenderState, VideoClip
from .imports import ImportBatch, ImportItem
from .media import MusicTrack, Video
from .pairings import Pairing

__all__ = [
    "ImportBatch",
    "ImportItem",
    "MusicExcerpt",
    "MusicTrack",
    "Pairing",
    "RenderState",
    "Video",
    "VideoClip",
]
