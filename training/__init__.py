"""Model training for mvfit: backbones, inputs, the preference model and the retrieval model.

Nothing in this package imports Django; it works on the files an export produces (docs/export-format.md).
"""
