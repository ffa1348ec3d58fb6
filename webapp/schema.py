"""drf-spectacular extensions for this site's own API building blocks (loaded by ``WebappConfig.ready``)."""

from drf_spectacular.authentication import BasicScheme


class RateLimitedBasicScheme(BasicScheme):
    """``webapp.auth.BasicAuthentication`` is DRF's HTTP Basic with django-axes' lockout: same scheme."""

    target_class = "webapp.auth.BasicAuthentication"
    priority = 0


def detail_response(name: str = "Detail"):
    """The body of a refusal: ``{"detail": "what went wrong"}``."""
    from drf_spectacular.utils import inline_serializer
    from rest_framework import serializers

    return inline_serializer(name, {"detail": serializers.CharField()})
