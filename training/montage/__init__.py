"""Montages: a music video for a whole song from a clip library, and music supervision (seed 004).

Pure Python + ffmpeg, no Django. ``make_montage`` (montage.py) is the entry point; docs/montage.md
describes the commands and the provenance format.
"""
