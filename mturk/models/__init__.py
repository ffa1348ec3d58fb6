from .assignments import AssignmentStatus, MTurkAssignment
from .audit import MTurkCall
from .discrepancies import Discrepancy
from .entries import MTurkEntry
from .hits import Hit, HitBatch, HitExtension, HitState
from .payments import Bonus, PaymentState, Spend, WorkerBlock
from .study import ExclusionQualification, MTurkStudy, QualificationGrant
from .suggestions import ReviewSuggestion

__all__ = [
    "AssignmentStatus",
    "Bonus",
    "Discrepancy",
    "ExclusionQualification",
    "Hit",
    "HitBatch",
    "HitExtension",
    "HitState",
    "MTurkAssignment",
    "MTurkCall",
    "MTurkEntry",
    "MTurkStudy",
    "PaymentState",
    "QualificationGrant",
    "ReviewSuggestion",
    "Spend",
    "WorkerBlock",
]
