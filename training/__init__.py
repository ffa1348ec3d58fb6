"""Models trained on mvfit exports: the Langlois preference model and the VM-NET retrieval model.

Plain torch on CPU. Nothing here imports Django: the inputs are the files an export writes
(docs/export-format.md) and the media files that ``stimuli.csv`` points at.
"""
