"""Audio (and video) representations as plug-ins behind one interface (:mod:`.base`).

====================  =========  =================================================================
name                  modality   what
====================  =========  =================================================================
``vggish``            audio      VGGish embeddings of 0.96 s log-mel examples (128 per row; weights
                                 via MVFIT_VGGISH_WEIGHTS or ``--random-init``)
``handcrafted``       audio      VM-NET's librosa descriptors, 224 per 23 ms frame (:mod:`.handcrafted`)
``precomputed``       either     rows read from an embedding directory: OpenL3, MusiCNN, AudioSet …
                                 computed elsewhere (format in :mod:`.precomputed`)
``rgb-resnet50``      video      ImageNet ResNet-50 on RGB frames at ``rgb_fps`` (2048 per frame)
``colour``            video      HSV histogram + motion energy per frame, no weights (:mod:`.video`)
====================  =========  =================================================================

A spec is a name or an object ``{"name": ..., options}``: ``{"name": "precomputed", "path": DIR}``,
``{"name": "colour", "fps": 4, "size": 64}``. Temporal aggregation (``mean`` / ``mean-var-max``) is
chosen separately, per comparison (see :func:`.base.aggregate`).
"""

from __future__ import annotations

from dataclasses import replace

from training.errors import TrainingInputError
from training.representations.base import AGGREGATIONS, Representation, Timed, aggregate

AUDIO = ("vggish", "handcrafted", "precomputed")
VIDEO = ("rgb-resnet50", "colour", "precomputed")
# Retrieval needs frames over whole sources, not Langlois' first 16.
RGB_MAX_FRAMES = 3600

__all__ = ["AGGREGATIONS", "AUDIO", "VIDEO", "Representation", "aggregate", "build_representation", "spec_name"]


def spec_name(spec: str | dict) -> str:
    """A short label for tables: the name, or ``precomputed:<manifest name>``."""
    if isinstance(spec, str):
        return spec
    if spec.get("name") == "precomputed" and spec.get("path"):
        from training.representations.precomputed import EmbeddingDirectory

        return f"precomputed:{EmbeddingDirectory.open(spec['path']).manifest.name}"
    return str(spec.get("label") or spec.get("name"))


def build_representation(spec: str | dict, *, modality: str, settings=None) -> Representation:
    """The representation a spec names; ``settings`` (:class:`BackboneSettings`) serves the backbones."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise TrainingInputError(f"a representation is a name or an object with a 'name', not {spec!r}.")
    name = spec["name"]
    allowed = AUDIO if modality == "audio" else VIDEO
    if name not in allowed:
        raise TrainingInputError(f"{modality} representation must be one of {', '.join(allowed)}, not {name!r}.")
    options = {k: v for k, v in spec.items() if k not in ("name", "label")}

    def only(*keys: str) -> None:
        unknown = set(options) - set(keys)
        if unknown:
            raise TrainingInputError(f"representation {name!r} takes no option(s) {sorted(unknown)}.")

    if name == "precomputed":
        only("path")
        if not options.get("path"):
            raise TrainingInputError("the precomputed representation needs a 'path' (embedding directory).")
        from training.representations.precomputed import PrecomputedEmbeddings

        return PrecomputedEmbeddings(options["path"], modality=modality)
    if name == "handcrafted":
        only()
        from training.representations.handcrafted import HandcraftedAudio

        return HandcraftedAudio()
    if name == "colour":
        only("fps", "size")
        from training.representations.video import ColourMotion

        return ColourMotion(**options)
    only()
    from training.features.extractors import BackboneSettings, RgbResNet50, VGGishAudio

    settings = settings or BackboneSettings.from_env()
    if name == "vggish":
        extractor = VGGishAudio(settings)
        extractor.config()  # resolves the weights now: a missing file fails before any work
        return Timed(extractor, "audio", 0.96)
    extractor = RgbResNet50(replace(settings, rgb_max_frames=RGB_MAX_FRAMES))
    extractor.config()
    return Timed(extractor, "video", 1.0 / settings.rgb_fps)
