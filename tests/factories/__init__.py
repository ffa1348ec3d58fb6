"""factory_boy factories. Import from the module of the app: ``from tests.factories.annotation import VideoFactory``."""
