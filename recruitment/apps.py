from django.apps import AppConfig


class RecruitmentConfig(AppConfig):
    """Recruitment channels besides MTurk: panel links (a panel's own participant ids)."""

    name = "recruitment"
    default_auto_field = "django.db.models.BigAutoField"
