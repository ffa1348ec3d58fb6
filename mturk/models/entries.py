from django.db import models


class MTurkEntry(models.Model):
    """How an MTurk participant got in: the HIT of ours they came from, verified at entry.

    The experiments app records every participant's channel (``Participant.source``); each channel keeps
    what it verified about an entry in its own app, so the experiments app never depends on a channel.
    The marketplace is the HIT's batch's ``mode``: an entry is only accepted from that marketplace.
    """

    participant = models.OneToOneField("experiments.Participant", on_delete=models.CASCADE, related_name="mturk_entry")
    hit = models.ForeignKey("mturk.Hit", on_delete=models.PROTECT, related_name="entries")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "MTurk entry"
        verbose_name_plural = "MTurk entries"

    def __str__(self) -> str:
        return f"participant {self.participant_id} via HIT {self.hit}"
