from .excerpts import MusicExcerpt, RenderState, VideoClip
from .imports import ImportBatch, ImportItem
from .media import MusicTrack, Video
from .montages import KIND_STRATEGY, Montage, MontageKind, MontageStrategy
from .pairings import Pairing
from .sets import StimulusSet

__all__ = [
    "KIND_STRATEGY",
    "ImportBatch",
    "ImportItem",
    "Montage",
    "MontageKind",
    "MontageStrategy",
    "MusicExcerpt",
    "MusicTrack",
    "Pairing",
    "RenderState",
    "StimulusSet",
    "Video",
    "VideoClip",
]
