"""python manage.py make_posters — make the library's poster frames for clips that have none (a backfill)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from annotation import selectors
from annotation.services import rendering


class Command(BaseCommand):
    help = "Make the poster frame (library thumbnail) of every clip without one; --force remakes them all."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="remake posters that exist")

    def handle(self, *args, force, verbosity, **options):
        clip_ids = selectors.clips_needing_posters(include_done=force)
        made = 0
        for clip_id in tqdm(clip_ids, desc="posters", unit="clip", disable=verbosity < 1):
            made += rendering.make_poster(clip_id=clip_id, force=force)
        self.stdout.write(f"posters: {made} made, {len(clip_ids) - made} without a decodable frame or already made")
