"""The experimenter API's OpenAPI schema and its browsable documentation (drf-spectacular).

Swagger UI is served from drf-spectacular-sidecar's static files and initialised by a separate script
response (``SpectacularSwaggerSplitView``), so the page runs under the site's strict Content-Security-Policy:
no CDN, no inline script, no inline style. Its one relaxation: Swagger UI draws its icons as ``data:`` SVG
images, so this page (only) may load images from ``data:``.
"""

from csp.constants import SELF
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

schema = SpectacularAPIView.as_view()
swagger_ui = csp_update({"img-src": [SELF, "data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="webapp/swagger_ui.html")
)
