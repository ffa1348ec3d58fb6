"""Forms of the staff library page: the filters (GET) and saving ticked items as a named stimulus set (POST)."""

from __future__ import annotations

from django import forms

from annotation.models import RenderState, StimulusSet
from annotation.selectors import LIBRARY_KINDS, LibraryFilter

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
