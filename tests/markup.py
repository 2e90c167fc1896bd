"""Find elements in a page by tag and attributes, whatever the attribute order or whitespace.

Tests check what a page means (this input holds this value, this box is ticked), not how the
template happens to spell it, so a change of markup that keeps the meaning keeps them green.
"""

from html.parser import HTMLParser


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(page: str | bytes, tag: str | None = None, **attrs: str | bool) -> list[dict[str, str | None]]:
    """The attributes of every ``tag`` element carrying ``attrs``.

    An attribute given as ``True`` must be present (``checked=True``), as ``False`` absent; a
    string must be its (unescaped) value. Write ``class_`` for ``class`` and ``_`` for ``-``.
    """
    if isinstance(page, bytes):
        page = page.decode()
    parser = _Collector()
    parser.feed(page)
    parser.close()
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
    return [
        found
        for name, found in parser.found
        if (tag is None or name == tag) and all(_matches(found, k, v) for k, v in wanted.items())
    ]


def _matches(found: dict[str, str | None], name: str, value: str | bool) -> bool:
    if value is True:
        return name in found
    if value is False:
        return name not in found
    if name == "class":
        return set(value.split()) <= set((found.get(name) or "").split())
    return found.get(name) == value


def has(page: str | bytes, tag: str | None = None, **attrs: str | bool) -> bool:
    """Whether the page has a ``tag`` element carrying ``attrs`` (see ``elements``)."""
    return bool(elements(page, tag, **attrs))


def value_of(page: str | bytes, name: str) -> str | None:
    """The value of the form control named ``name`` (an input's value attribute)."""
    found = elements(page, "input", name=name)
    return found[0].get("value") if found else None
