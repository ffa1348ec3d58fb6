"""Turning prepared media files into backbone inputs: frames, audio, optical flow, normalisation.

Media is decoded by piping through the ffmpeg binary (``MVFIT_FFMPEG`` or imageio-ffmpeg's), never by
ffprobe, which is not guaranteed to exist. OpenCV is imported only by :mod:`training.inputs.flow`.
"""
