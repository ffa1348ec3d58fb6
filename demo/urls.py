from django.urls import path

from demo.views import demo_report

urlpatterns = [
    path("reports/demo/", demo_report, name="demo_report"),
]
