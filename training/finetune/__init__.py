"""Fine-tuning the visual backbones together with the preference head (``train-preference --fine-tune``)."""
