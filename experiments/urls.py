from django.urls import include, path

from experiments.views import problems, questionnaire, screening, staff, worker

app_name = "experiments"

worker_patterns = [
    path("", worker.worker_page, name="worker"),
    path("consent", worker.consent, name="consent"),
    path("audio-check", worker.audio_check, name="audio_check"),
    path("headphones", screening.headphone_page, name="headphones"),
    path("headphones/answer", screening.headphone_answer, name="headphone_answer"),
    path("questionnaire", questionnaire.questionnaire_page, name="questionnaire"),
    path("begin", worker.begin, name="begin"),
    path("api/begin", worker.api_begin, name="api_begin"),
    path("api/state", worker.api_state, name="api_state"),
    path("api/trials/<int:position>", worker.api_trial, name="api_trial"),
    path("api/answers", worker.api_answer, name="api_answer"),
    path("problem", problems.report_problem, name="report_problem"),
]

urlpatterns = [
    # Worker side: everything under /w/, authenticated by the session token or a signature.
    path("w/invite/<str:signed>/", worker.invite, name="invite"),
    # Old MTurk entry, kept as a redirect to /mturk/e/<slug>/ (HITs frame that page).
    path("w/mturk/<slug:slug>/", worker.legacy_mturk_entry, name="mturk_entry"),
    path("w/m/<str:signed>", worker.media, name="media"),
    path("w/a/<str:signed>", worker.audio_check_sound, name="audio_check_sound"),
    path("w/h/<str:signed>", screening.headphone_sound, name="headphone_sound"),
    path("w/hc/<str:signed>", screening.headphone_calibration, name="headphone_calibration"),
    path("w/s/<str:token>/", include(worker_patterns)),
    # Experimenter side (staff only).
    # The list and each experiment's page are the workspace's (workspace/urls.py), at /experiments/.
    path("experiments/<int:pk>/preview/", staff.preview_page, name="preview"),
    path("experiments/<int:pk>/preview/api/state", staff.preview_state, name="preview_state"),
    path("experiments/<int:pk>/preview/api/trials/<int:position>", staff.preview_trial, name="preview_trial"),
    path("experiments/<int:pk>/preview/api/answers", staff.preview_answer, name="preview_answer"),
]
