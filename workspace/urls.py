from django.urls import path

from workspace.views import experiments, home, wizard

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
]
