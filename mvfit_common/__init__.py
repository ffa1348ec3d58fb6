"""Small Django-free pieces every part of mvfit shares: one home for each.

* :mod:`mvfit_common.files` — :func:`~mvfit_common.files.atomic_write`, the one way to publish a file.
* :mod:`mvfit_common.ffmpeg` — :func:`~mvfit_common.ffmpeg.ffmpeg_binary`, the one rule for finding ffmpeg.
* :mod:`mvfit_common.stats` — :func:`~mvfit_common.stats.wilson_interval` (statsmodels' Wilson score interval).

It imports neither Django nor any mvfit app (``tests/test_boundaries.py``), so ``analysis/``,
``training/``, ``exportformat/`` and the Django apps can all build on it.
"""
