"""The VM-NET retrieval model: a shared video-music embedding that supplies "search" (S) items."""
