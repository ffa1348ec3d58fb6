from django import template

from recruitment import prolific, services

register = template.Library()


@register.filter
def channel_exit_url(participant, screened_out: bool = False) -> str:
    """Where a panel or Prolific participant returns to at the end ("" for other channels)."""
    if entry := getattr(participant, "panel_entry", None):
        return services.exit_url(entry=entry, screened_out=bool(screened_out))
    if entry := getattr(participant, "prolific_entry", None):
        return prolific.exit_url(entry=entry, screened_out=bool(screened_out))
    return ""
