from django.apps import AppConfig


class MturkConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mturk"
    verbose_name = "Mechanical Turk"
