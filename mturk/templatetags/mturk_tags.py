from django import template

from mturk.services.entry import allowed_submit_host

register = template.Library()


@register.filter
def external_submit_url(participant) -> str:
    """turkSubmitTo + /mturk/externalSubmit, or "" when turkSubmitTo is not one of MTurk's hosts."""
    turk_submit_to = (getattr(participant, "turk_submit_to", "") or "").rstrip("/")
    if not turk_submit_to or not allowed_submit_host(turk_submit_to):
        return ""
    return f"{turk_submit_to}/mturk/externalSubmit"
