"""Audio front ends for the training backbones (VGGish log-mel examples)."""
