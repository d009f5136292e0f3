"""Template helpers of the people page: the faces to tick, built in one pass (a page shows a few hundred)."""
from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe

from medialib.templatetags.medialib import face_img

register = template.Library()


@register.simple_tag
def face_choices(faces, *, checked: bool = True) -> str:
    """The <li> of each face: a checkbox with its id and its 96 px crop (the 2x of the asset page's 48 px face, one
    rendition for both). Every value is escaped (in face_img, html.escape: the five characters Django's escape does)."""
    tick = " checked" if checked else ""
    parts = []
    for face in faces:
        photo = face.asset.original_filename or face.asset.public_id
        image = face_img(face, "face", alt=f"Unnamed face in {photo}")
        parts.append(f'<li><label><input type="checkbox" name="faces" value="{int(face.pk)}"{tick}>{image}</label></li>')
    return mark_safe("\n".join(parts))


@register.simple_tag
def faces_not_shown(group) -> str:
    """Hidden inputs with the ids of a group's faces not shown, so that naming the group names all of it."""
    shown = {face.pk for face in group["faces"]}
    return mark_safe("".join(f'<input type="hidden" name="faces" value="{int(pk)}">'
                             for pk in group["ids"] if pk not in shown))


@register.filter
def more_than_shown(group) -> int:
    """How many of a group's faces are named with it but not shown."""
    return max(0, len(group["ids"]) - len(group["faces"]))


@register.simple_tag
def person_cards(people) -> str:
    """The <li class="person-card"> of each named person: their cover face, name and how many photos."""
    parts = []
    for person in people:
        cover = person.cover
        image = face_img(cover, "face") if cover else ""
        photos = f'{int(person.photos)} photo{"" if person.photos == 1 else "s"}'
        parts.append(f'<li class="person-card">\n    <a href="{escape(reverse("tagging:person_detail", args=[person.pk]))}">'
                     f'\n      {image}\n      <span class="name">{escape(person.name)}</span>'
                     f'\n      <span class="muted">{photos}</span>\n    </a>\n  </li>')
    return mark_safe("\n  ".join(parts))


@register.simple_tag
def people_options(people) -> str:
    """The <option> of each person offered when naming faces (the datalist of the name fields)."""
    return mark_safe("".join(f'<option value="{escape(person.name)}">' for person in people))
