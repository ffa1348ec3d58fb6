"""Forms of the staff library pages: the filters (GET), saving ticked items as a named stimulus set (POST), and
requesting a montage (the montages page)."""

from __future__ import annotations

from django import forms

from annotation.models import MontageKind, MusicTrack, RenderState, StimulusSet
from annotation.selectors import LIBRARY_KINDS, LibraryFilter
from annotation.services.montages import DEFAULT_SEGMENTS, MontageOptions

YES_NO = [("", "any"), ("yes", "ground-truth pairs only"), ("no", "no ground-truth pairs")]


class LibraryFilterForm(forms.Form):
    """The filter bar. Unknown or malformed values are dropped (a bad link shows the unfiltered list)."""

    kind = forms.ChoiceField(choices=[(k, k) for k in LIBRARY_KINDS], required=False)
    q = forms.CharField(required=False, max_length=100, label="Search")
    label = forms.CharField(required=False, max_length=100, label="Scene category")
    genre = forms.CharField(required=False, max_length=100)
    ground_truth = forms.ChoiceField(choices=YES_NO, required=False, label="Ground truth")
    batch = forms.IntegerField(required=False, min_value=1, label="Import batch")
    state = forms.ChoiceField(choices=[("", "any"), *RenderState.choices], required=False, label="Render state")

    def to_filter(self) -> LibraryFilter:
        self.is_valid()
        data = self.cleaned_data  # only the fields that were valid: a partly wrong query keeps the rest
        return LibraryFilter(
            kind=data.get("kind") or "clips",
            q=(data.get("q") or "").strip(),
            label=data.get("label") or "",
            genre=data.get("genre") or "",
            ground_truth=data.get("ground_truth") or "",
            batch=data.get("batch"),
            state=data.get("state") or "",
        )


class SaveSetForm(forms.Form):
    """Ticked clips/excerpts (or everything matching the filters) saved as a new set or added to one.

    The ticked ids come as ``clip`` and ``excerpt`` lists and are checked by the service (one home for that rule).
    """

    name = forms.CharField(
        required=False, max_length=StimulusSet._meta.get_field("name").max_length, label="New set name"
    )
    add_to = forms.ModelChoiceField(
        queryset=StimulusSet.objects.order_by("name"), required=False, empty_label="— a new set —", label="Save to"
    )
    all_matching = forms.BooleanField(required=False, label="Every item matching the filters (all pages)")


class MontageRequestForm(forms.Form):
    """The staff montage page's request: a model's montage of a song, and its baselines (docs/montage.md)."""

    song = forms.ModelChoiceField(queryset=MusicTrack.objects.none(), empty_label=None)
    model = forms.CharField(max_length=200, help_text="NAME@VERSION of a published retrieval model")
    segments = forms.CharField(max_length=60, initial=DEFAULT_SEGMENTS, help_text="beats:N, fixed:S, foote or flux")
    seed = forms.IntegerField(min_value=0, max_value=2**63 - 1, initial=0)  # the column is a bigint
    no_same_source = forms.BooleanField(required=False, label="No two consecutive clips from one source video")
    continuity_bonus = forms.FloatField(min_value=0, max_value=2, initial=0.0, label="Continuity bonus")
    baselines = forms.MultipleChoiceField(
        choices=[(MontageKind.RANDOM, "R: random clips"), (MontageKind.ANTI, "anti: the farthest clips"),
                 (MontageKind.ORIGINAL, "G: the song's own music video (when it has one)")],
        initial=[MontageKind.RANDOM, MontageKind.ANTI, MontageKind.ORIGINAL],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def __init__(self, *args, songs=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["song"].queryset = songs if songs is not None else MusicTrack.objects.all()
        self.fields["song"].label_from_instance = lambda track: (
            f"{track.title or track.original_name} (#{track.pk}, {track.duration_s:.0f} s)"
        )

    def options(self) -> MontageOptions:
        data = self.cleaned_data
        return MontageOptions(
            segments=data["segments"].strip(),
            seed=data["seed"],
            no_same_source=data["no_same_source"],
            continuity_bonus=data["continuity_bonus"],
        )
