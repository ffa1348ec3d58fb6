from .design import (
    Bundle,
    BundlePairing,
    BundleStatus,
    CatchKind,
    CatchStimulus,
    Condition,
    Direction,
    Item,
    OptionKind,
    Trial,
)
from .experiment import Experiment, ExperimentKind, ExperimentStatus
from .participation import (
    Assignment,
    AssignmentStatus,
    AudioCheckSound,
    Exposure,
    InviteLink,
    Participant,
    ParticipantSource,
)
from .responses import Response, Side

__all__ = [
    "Assignment",
    "AssignmentStatus",
    "AudioCheckSound",
    "Bundle",
    "BundlePairing",
    "BundleStatus",
    "CatchKind",
    "CatchStimulus",
    "Condition",
    "Direction",
    "Experiment",
    "ExperimentKind",
    "ExperimentStatus",
    "Exposure",
    "InviteLink",
    "Item",
    "OptionKind",
    "Participant",
    "ParticipantSource",
    "Response",
    "Side",
    "Trial",
]
