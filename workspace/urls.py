from django.urls import path

from workspace.views import experiments, home, recruitment, wizard

app_name = "workspace"

urlpatterns = [
    path("", home.index, name="index"),
    path("login/", home.LoginView.as_view(), name="login"),
    path("logout/", home.logout_view, name="logout"),
    path("home/", home.home, name="home"),
    # Experiments: the list, the wizard, each experiment's page and its actions.
    path("experiments/", experiments.experiment_list, name="experiments"),
    path("experiments/new/", wizard.kind_step, name="wizard_kind"),
    path("experiments/new/stimuli/", wizard.stimuli_step, name="wizard_stimuli"),
    path("experiments/new/design/", wizard.design_step, name="wizard_design"),
    path("experiments/new/review/", wizard.review_step, name="wizard_review"),
    path("experiments/new/summary/<int:job>.json", wizard.summary_state, name="wizard_summary"),
    path("experiments/<int:pk>/", experiments.experiment_page, name="experiment"),
    path("experiments/<int:pk>/status/", experiments.change_status, name="experiment_status"),
    path("experiments/<int:pk>/release/", experiments.release_abandoned, name="experiment_release"),
    path("experiments/<int:pk>/invites/", experiments.create_invites, name="experiment_invites"),
    path("experiments/<int:pk>/invites.csv", experiments.invites_csv, name="experiment_invites_csv"),
    path("experiments/<int:pk>/invites/revoke/", experiments.revoke_invites, name="experiment_invites_revoke"),
    path("experiments/<int:pk>/report/", experiments.start_report, name="experiment_report_start"),
    path("experiments/<int:pk>/report/view/", experiments.report_page, name="experiment_report"),
    path("experiments/<int:pk>/jobs/<int:job>.json", experiments.job_state, name="experiment_job"),
    path("experiments/<int:pk>/rendering.json", experiments.render_state, name="experiment_rendering"),
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
