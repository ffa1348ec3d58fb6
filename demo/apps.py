from django.apps import AppConfig


class DemoConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
    verbose_name = "Demo (studies, simulated crowd, report)"

    def ready(self) -> None:
        # The demo's stand-in retrieval model for montages (``stand-in@energy-v1``), for every process
        # that builds montages -- the demo itself and any Celery worker of this installation.
        # Imported when a montage is scored, not here: the scorer pulls in scipy, which no web process needs.
        from annotation.services.montages import register_scorer

        register_scorer("stand-in", _stand_in_scorer)


def _stand_in_scorer(model: str):
    from demo.services import demo_paths
    from demo.services.montage_scorer import StandInMontageScorer

    return StandInMontageScorer(demo_paths().features)
