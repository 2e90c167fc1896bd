"""Template look-ups for the console's notes, which templates can't do by a variable key."""

from django import template

register = template.Library()


@register.filter
def get_note(notes: dict, name: str):
    """``notes[name]``, or None."""
    return notes.get(name) if notes else None
