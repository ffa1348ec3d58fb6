from .excerpts import MusicExcerpt, RenderState, VideoClip
from .imports import ImportBatch, ImportItem
from .media import MusicTrack, Video
from .pairings import Pairing
from .sets import StimulusSet

__all__ = [
    "ImportBatch",
    "ImportItem",
    "MusicExcerpt",
    "MusicTrack",
    "Pairing",
    "RenderState",
    "StimulusSet",
    "Video",
    "VideoClip",
]
