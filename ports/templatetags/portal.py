"""Template helpers of the portal's frame: which navigation link is the current page."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def aria_current(context, url: str, exact: bool = False) -> str:
    """` aria-current="page"` on the link of the section being shown (the home link only on the home page)."""
    request = context.get("request")
    if request is None or not url:
        return ""
    path = request.path
    if path == url or (not exact and url != "/" and path.startswith(url)):
        return format_html(' aria-current="{}"', "page")
    return ""
