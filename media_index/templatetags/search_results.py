"""Template helpers for search results."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse
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


@register.simple_tag(takes_context=True)
def detail_url(context: template.Context, item) -> str:  # noqa: ANN001 - an Item
    """The item's page; from a results or library page it remembers that page, so the
    item's page can offer "Back to results" (views.item_detail checks the address)."""
    url = reverse("media_index:item-detail", args=[item.pk])
    back = context.get("back_path")
    return f"{url}?{urlencode({'back': back})}" if back else url
