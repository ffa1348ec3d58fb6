from django.urls import path

from . import views

app_name = "mturk-api"

urlpatterns = [
    path("balance/", views.BalanceView.as_view(), name="balance"),
    path("studies/", views.StudyList.as_view(), name="studies"),
    path("studies/<int:pk>/", views.StudyDetail.as_view(), name="study"),
    path("batches/", views.BatchList.as_view(), name="batches"),
    path("batches/<int:pk>/", views.BatchDetail.as_view(), name="batch"),
    path("batches/<int:pk>/publish/", views.BatchPublish.as_view(), name="batch-publish"),
    path("batches/<int:pk>/sync/", views.BatchSync.as_view(), name="batch-sync"),
    path("assignments/", views.AssignmentList.as_view(), name="assignments"),
    path("assignments/bulk/", views.AssignmentBulk.as_view(), name="assignments-bulk"),
    path(
        "assignments/<str:assignment_id>/<str:action>/",
        views.AssignmentAction.as_view(),
        name="assignment-action",
    ),
    path("batches/<int:pk>/suggest/", views.BatchSuggest.as_view(), name="batch-suggest"),
    path("suggestions/", views.SuggestionList.as_view(), name="suggestions"),
    path("suggestions/confirm/", views.ConfirmSuggestions.as_view(), name="suggestions-confirm"),
    path("hits/<str:hit_id>/<str:action>/", views.HitChange.as_view(), name="hit-change"),
    path("workers/block/", views.WorkerBlockView.as_view(), name="worker-block"),
    path("calls/", views.CallList.as_view(), name="calls"),
    path("discrepancies/", views.DiscrepancyList.as_view(), name="discrepancies"),
]
