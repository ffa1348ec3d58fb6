from django.urls import path

from workspace.views import home, recruitment

app_name = "workspace"

urlpatterns = [
    path("", home.index, name="index"),
    path("login/", home.LoginView.as_view(), name="login"),
    path("logout/", home.logout_view, name="logout"),
    path("home/", home.home, name="home"),
    path("recruitment/", recruitment.recruitment, name="recruitment"),
    path("recruitment/mturk/<int:pk>/", recruitment.mturk_batch, name="recruitment_batch"),
    path("recruitment/mturk/<int:pk>/action/", recruitment.mturk_batch_action, name="recruitment_batch_action"),
    path("recruitment/mturk/<int:pk>/review/", recruitment.mturk_review, name="recruitment_review"),
    path("recruitment/mturk/<int:pk>/message/", recruitment.mturk_message, name="recruitment_message"),
    path("recruitment/prolific/<int:pk>/", recruitment.prolific_study, name="recruitment_prolific"),
    path("recruitment/prolific/<int:pk>/action/", recruitment.prolific_action, name="recruitment_prolific_action"),
    path("recruitment/prolific/<int:pk>/review/", recruitment.prolific_review, name="recruitment_prolific_review"),
    path("recruitment/bonus/", recruitment.bonus_rules, name="recruitment_bonus"),
    path("recruitment/bonus/pay/", recruitment.pay_bonus_rule, name="recruitment_bonus_pay"),
    path("recruitment/problems/resolve/", recruitment.resolve_problems, name="recruitment_resolve_problems"),
]
