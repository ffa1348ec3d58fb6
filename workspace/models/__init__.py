from workspace.models.jobs import Job, JobKind, JobState

__all__ = ["Job", "JobKind", "JobState"]
