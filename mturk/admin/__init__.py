"""Admin: studies and batches with their cost estimate and spending, review actions, the audit log.

One module per concern (``batches``, ``review``, ``records``); list pages read through ``mturk.selectors``
or ``list_select_related`` so that a page costs the same number of queries however many rows it shows.
Actions that need input (a rejection reason, a bonus, a live confirmation) show an intermediate form;
nothing is sent to MTurk until it is submitted, and every change goes through a service.
"""

from django.contrib import admin

from mturk import models

from .batches import HitAdmin, HitBatchAdmin, MTurkStudyAdmin
from .records import (
    BonusAdmin,
    DiscrepancyAdmin,
    ExclusionQualificationAdmin,
    MTurkCallAdmin,
    MTurkEntryAdmin,
    QualificationGrantAdmin,
    SpendAdmin,
    WorkerBlockAdmin,
)
from .review import MTurkAssignmentAdmin, ReviewSuggestionAdmin

REGISTRY = {
    models.MTurkStudy: MTurkStudyAdmin,
    models.HitBatch: HitBatchAdmin,
    models.Hit: HitAdmin,
    models.MTurkAssignment: MTurkAssignmentAdmin,
    models.ReviewSuggestion: ReviewSuggestionAdmin,
    models.MTurkCall: MTurkCallAdmin,
    models.MTurkEntry: MTurkEntryAdmin,
    models.Spend: SpendAdmin,
    models.Bonus: BonusAdmin,
    models.WorkerBlock: WorkerBlockAdmin,
    models.ExclusionQualification: ExclusionQualificationAdmin,
    models.QualificationGrant: QualificationGrantAdmin,
    models.Discrepancy: DiscrepancyAdmin,
}

for model, model_admin in REGISTRY.items():
    admin.site.register(model, model_admin)
