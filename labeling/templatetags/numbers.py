"""{% load numbers %}: `x|sig3`, `x|signed_sig3`, `share|percent`, `share|signed_percent`, `x|dollars`,
`n|count`, `x|metric:"nmse"`, `x|signed_metric:"kappa"` (labeling/numbers.py): the one way a page
rounds a number."""

from __future__ import annotations

from django import template

from labeling import numbers

register = template.Library()


@register.filter
def sig3(value) -> str:
    return numbers.significant(value)


@register.filter
def signed_sig3(value) -> str:
    return numbers.significant(value, signed=True)


@register.filter
def percent(value) -> str:
    return numbers.percent(value)


@register.filter
def signed_percent(value) -> str:
    return numbers.percent(value, signed=True)


@register.filter
def dollars(value) -> str:
    return numbers.dollars(value)


@register.filter
def count(value) -> str:
    return numbers.count(value)


@register.filter
def metric(value, name: str) -> str:
    return numbers.metric(name, value)


@register.filter
def signed_metric(value, name: str) -> str:
    return numbers.metric(name, value, signed=True)
