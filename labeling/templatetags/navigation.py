"""{% project_tabs project current as tabs %}: the tabs of the project navigation the user may open."""

from __future__ import annotations

from django import template

from labeling.navigation import tab_links

register = template.Library()


@register.simple_tag(takes_context=True)
def project_tabs(context, project, current: str = "") -> list[dict]:
    return tab_links(context["request"].user, project, current)
