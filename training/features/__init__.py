"""Frozen-backbone features, cached on disk per media file (see cache.py for the layout)."""
