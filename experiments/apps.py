from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "experiments"
    verbose_name = "Experiments and crowd work"

    def ready(self) -> None:
        from experiments.selectors import worker
        from experiments.services import allocation, fastpath
        from webapp.db import warms_connections

        # The worker API's hot statements, prepared on each pooled connection before a web process
        # takes requests (``webapp.wsgi.warm_up``).
        for module in (allocation, fastpath, worker):
            warms_connections(module.warm_statements)
