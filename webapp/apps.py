from django.apps import AppConfig


class WebappConfig(AppConfig):
    """The project package as an app: the API documentation page's template and static files, schema extensions."""

    name = "webapp"

    def ready(self) -> None:
        from webapp import schema  # noqa: F401  (registers the drf-spectacular extensions)
