"""Sandbox or live: every MTurk object we keep belongs to exactly one of the two marketplaces.

They are separate systems with separate HITs, workers' qualifications, balances and even different
ids for the same system qualification (Masters), so nothing here has a default mode: the caller
always says which one it means.
"""

from django.db import models

REGION = "us-east-1"


class Mode(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox (fake money)"
    LIVE = "live", "Live (real money)"


REQUESTER_ENDPOINTS = {
    Mode.SANDBOX: "https://mturk-requester-sandbox.us-east-1.amazonaws.com",
    Mode.LIVE: "https://mturk-requester.us-east-1.amazonaws.com",
}

# Where workers find the HITs (printed after publishing so the experimenter can try one).
WORKER_SITES = {
    Mode.SANDBOX: "https://workersandbox.mturk.com",
    Mode.LIVE: "https://worker.mturk.com",
}

# Hosts MTurk passes as ``turkSubmitTo``; the completion form posts to <host>/mturk/externalSubmit.
SUBMIT_HOSTS = {
    Mode.SANDBOX: "https://workersandbox.mturk.com",
    Mode.LIVE: "https://www.mturk.com",
}
