"""Every model in the admin has a correctly spelled plural (no "Catch stimuluss", "Discrepancys", "Import batchs")."""

from __future__ import annotations

import re

from django.contrib import admin

# Django's default plural appends "s": these endings mean a word it got wrong.
BAD_PLURAL = re.compile(r"(ss|[^aeiou]ys|chs|shs|xs|zs|uss)$")


def test_no_registered_admin_model_has_a_misspelled_plural():
    wrong = {
        f"{model._meta.app_label}.{model.__name__}": str(model._meta.verbose_name_plural)
        for model in admin.site._registry
        if BAD_PLURAL.search(str(model._meta.verbose_name_plural).split()[-1])
    }
    assert wrong == {}


def test_the_plurals_the_issue_named_read_correctly():
    plurals = {model.__name__: str(model._meta.verbose_name_plural) for model in admin.site._registry}
    assert plurals["CatchStimulus"] == "catch stimuli"
    assert plurals["Discrepancy"] == "discrepancies"
    assert plurals["ImportBatch"] == "import batches"
    assert plurals["StimulusSet"] == "stimulus sets"


def test_the_check_catches_the_old_defaults():
    assert all(BAD_PLURAL.search(word) for word in ["stimuluss", "discrepancys", "batchs"])
    assert not any(BAD_PLURAL.search(word) for word in ["stimuli", "discrepancies", "batches", "entries", "days"])
