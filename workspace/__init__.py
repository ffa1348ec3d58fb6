"""The experimenter's workspace: server-rendered staff pages over the other apps' services and selectors."""
