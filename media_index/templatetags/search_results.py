"""Template helpers for search results."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def highlighted_snippet(hit) -> SafeString:  # noqa: ANN001 - a search.snippets.ShownHit
    """The hit's snippet, HTML-escaped, with the query's matching words in <mark>."""
    snippet, spans = hit.snippet, hit.highlights
    parts, position = [], 0
    for start, end in spans:
        parts.append(escape(snippet[position:start]))
        parts.append(f"<mark>{escape(snippet[start:end])}</mark>")
        position = end
    parts.append(escape(snippet[position:]))
    # Every piece of user text above went through escape(); only our <mark> tags are raw.
    return mark_safe("".join(parts))  # noqa: S308
