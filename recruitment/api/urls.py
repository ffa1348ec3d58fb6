from django.urls import path

from . import views

app_name = "recruitment-api"

urlpatterns = [
    path("problems/", views.ProblemReportList.as_view(), name="problem-list"),
    path("problems/resolve/", views.ResolveProblems.as_view(), name="problem-resolve"),
    path("bonus-rules/preview/", views.BonusRulePreview.as_view(), name="bonus-preview"),
    path("bonus-rules/pay/", views.BonusRulePay.as_view(), name="bonus-pay"),
    path("experiments/<slug:slug>/worker-cap/", views.WorkerCap.as_view(), name="worker-cap"),
    path("prolific/<int:pk>/<str:action>/", views.ProlificAction.as_view(), name="prolific-action"),
]
