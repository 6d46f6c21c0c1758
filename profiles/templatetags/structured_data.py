"""
schema.org JSON-LD for profile pages: ``{% json_ld lab %}`` in a page's head.

Search engines read it to know a page is about an organization, a person or a piece
of software. The JSON is escaped like Django's ``json_script`` (no ``</script>``
can end the block early), and a JSON-LD block is data, never executed, so the
site's Content-Security-Policy needs no exception for it.
"""

import json

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from profiles.models import Lab, Person, Release, ReleaseKind

register = template.Library()

_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}
SOFTWARE_KINDS = {ReleaseKind.MODEL, ReleaseKind.MODEL_FAMILY, ReleaseKind.FRAMEWORK, ReleaseKind.TOOLBOX}


def _organization(lab, absolute):
    same_as = [lab.website] if lab.website else []
    if lab.wikidata_id:
        same_as.append(f"https://www.wikidata.org/wiki/{lab.wikidata_id}")
    if lab.huggingface_org:
        same_as.append(f"https://huggingface.co/{lab.huggingface_org}")
    if lab.github_org:
        same_as.append(f"https://github.com/{lab.github_org}")
    data = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": lab.name,
        "url": absolute(lab.get_absolute_url()),
        "alternateName": [name for name in [lab.native_name, *lab.other_names_list] if name],
        "description": lab.summary,
        "foundingDate": lab.founded_iso,
        "sameAs": same_as,
    }
    if lab.city or lab.country:
        data["address"] = {"@type": "PostalAddress", "addressLocality": lab.city, "addressCountry": lab.country.code or None}
    return data


def _person(person, absolute):
    roles = person.current_roles()
    return {
        "@context": "https://schema.org",
        "@type": "Person",
        "name": person.name,
        "alternateName": person.native_name or None,
        "url": absolute(person.get_absolute_url()),
        "description": person.bio,
        "jobTitle": roles[0].title if roles else None,
        "worksFor": [
            {"@type": "Organization", "name": role.employer.name,
             "url": absolute(role.lab.get_absolute_url()) if role.lab_id else None}
            for role in roles
        ],
    }


def _release(release, absolute):
    kind = "SoftwareApplication" if release.kind in SOFTWARE_KINDS else "CreativeWork"
    data = {
        "@context": "https://schema.org",
        "@type": kind,
        "name": release.name,
        "url": absolute(release.get_absolute_url()),
        "datePublished": release.released_iso,
        "license": release.license or None,
        "creator": {"@type": "Organization", "name": release.lab.name, "url": absolute(release.lab.get_absolute_url())},
        "sameAs": [release.url] if release.url else [],
    }
    if kind == "SoftwareApplication":
        data["applicationCategory"] = release.get_kind_display()
    return data


def structured_data(obj, absolute):
    """The schema.org dict for a lab, person or release, without empty values."""
    builder = {Lab: _organization, Person: _person, Release: _release}[type(obj)]
    return {key: value for key, value in builder(obj, absolute).items() if value not in (None, "", [])}


@register.simple_tag(takes_context=True)
def json_ld(context, obj):
    request = context["request"]
    data = structured_data(obj, request.build_absolute_uri)
    text = json.dumps(data, ensure_ascii=False).translate(_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))
