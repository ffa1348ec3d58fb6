"""The stimulus library: videos, music tracks, excerpts and rendered music-video pairings."""
