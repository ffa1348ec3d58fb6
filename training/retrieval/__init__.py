"""Retrieval: VM-NET's shared video-music embedding that supplies "search" (S) items, and the seeds'
retrieval research around it — audio representations, the BCE loss, segment-level alignment ranking and
their evaluation protocol (docs/retrieval.md)."""
