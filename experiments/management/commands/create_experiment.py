import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.models import MusicExcerpt, VideoClip
from experiments.design.config import DesignError
from experiments.services.designs import create_experiment
from experiments.services.lifecycle import open_experiment


class Command(BaseCommand):
    help = (
        "Create an experiment and generate its design. The design config is JSON (inline or a file); "
        "--all-clips/--all-excerpts fill clip_ids/excerpt_ids with the whole library."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--kind", choices=["rating", "afc", "preference"], required=True)
        parser.add_argument("--title", default="")
        parser.add_argument("--config", default="{}", help="JSON object, or @path/to/config.json")
        parser.add_argument("--all-clips", action="store_true")
        parser.add_argument("--all-excerpts", action="store_true")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--k", type=int, default=9, help="judgments per item")
        parser.add_argument("--n", type=int, default=50, help="trials per assignment")
        parser.add_argument("--catch", type=int, default=1, help="catch trials per assignment")
        parser.add_argument("--timeout", type=int, default=1800, help="seconds before an idle assignment is released")
        parser.add_argument("--open", action="store_true", help="open to workers right away (needs rendered media)")

    def handle(self, *args, **options):
        raw = options["config"]
        try:
            config = json.loads(Path(raw[1:]).read_text() if raw.startswith("@") else raw)
        except (OSError, ValueError) as exc:
            raise CommandError(f"--config is not readable JSON: {exc}") from exc
        if options["all_clips"]:
            config["clip_ids"] = list(VideoClip.objects.order_by("pk").values_list("pk", flat=True))
        if options["all_excerpts"]:
            config["excerpt_ids"] = list(MusicExcerpt.objects.order_by("pk").values_list("pk", flat=True))
        try:
            experiment = create_experiment(
                slug=options["slug"],
                title=options["title"] or options["slug"],
                kind=options["kind"],
                config=config,
                seed=options["seed"],
                judgments_per_item=options["k"],
                trials_per_assignment=options["n"],
                catch_trials_per_assignment=options["catch"],
                abandon_after_s=options["timeout"],
            )
            if options["open"]:
                experiment = open_experiment(experiment=experiment)
        except DesignError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"experiment {experiment.pk} ({experiment.slug}): {experiment.items.count()} items, "
                f"{experiment.bundles.count()} bundles, seed {experiment.seed}, status {experiment.status}"
            )
        )
        self.stdout.write(f"preview: /experiments/{experiment.pk}/preview/   progress: /experiments/{experiment.pk}/")
