from django import template

from recruitment.services import exit_url

register = template.Library()


@register.filter
def panel_exit_url(participant, screened_out: bool = False) -> str:
    """Where a panel participant returns to at the end ("" for other channels)."""
    entry = getattr(participant, "panel_entry", None)
    return exit_url(entry=entry, screened_out=bool(screened_out)) if entry else ""
