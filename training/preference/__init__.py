"""The Langlois three-stream preference model: which of two tracks fits a video better."""
