"""The trimmed Pico stylesheet still covers every element and Pico class the templates write.

static/vendor/pico-2.1.1.console.min.css is Pico without the rules no template could match when it
was built (frontend/pico/build.sh). A template that starts using one of those elements or classes
would show it unstyled, so this names what to rebuild rather than letting it ship looking broken.
"""

import re

from django.conf import settings

STATIC = settings.BASE_DIR / "static"
DROPPED = settings.BASE_DIR / "frontend" / "pico" / "dropped.txt"  # written by the build
PYTHON = settings.BASE_DIR / "metrics_ui"


def dropped() -> tuple[set[str], set[str]]:
    """The elements and classes whose Pico rules the build left out, as the build listed them."""
    words = DROPPED.read_text().split()
    return {w for w in words if re.fullmatch(r"[a-z][a-z0-9]*", w)}, {
        w[1:] for w in words if w.startswith(".")
    }


def sources() -> dict[str, str]:
    files = [*(settings.BASE_DIR / "templates").rglob("*.html"), *(STATIC / "js").glob("*.js")]
    return {str(f.relative_to(settings.BASE_DIR)): f.read_text() for f in files}


def test_no_template_uses_an_element_or_pico_class_the_trimmed_stylesheet_left_out():
    elements, classes = dropped()
    assert "h4" in elements and "striped" in classes  # the list is read, not silently empty
    found = []
    for path, text in sources().items():
        found += [f"{path}: <{tag}>" for tag in elements if re.search(rf"<{tag}[\s>/]", text)]
        for attribute in re.findall(r'class="([^"]*)"', text):
            found += [f"{path}: class {name}" for name in classes if name in attribute.split()]
        found += [
            f"{path}: classList {name}"
            for name in classes
            if re.search(rf"classList\.\w+\([^)]*['\"]{name}['\"]", text)
        ]
    assert found == [], "rebuild Pico with frontend/pico/build.sh for: " + ", ".join(found)


def test_no_template_writes_an_input_type_or_role_the_trimmed_stylesheet_left_out():
    # Radio buttons would show as the browser's bare circles, a role="switch" checkbox as a plain box.
    left_out = {w[1:-1] for w in DROPPED.read_text().split() if w.startswith("[")}
    roles = {w.removeprefix("role=") for w in left_out if w.startswith("role=")}
    types = {w for w in left_out if "=" not in w}
    assert "week" in types  # the list is read, not silently empty
    # Templates and scripts (type="radio", setAttribute("role", "switch")) and Python that renders
    # ({"type": "radio"} in a widget's attrs).
    python = {str(f.relative_to(settings.BASE_DIR)): f.read_text() for f in PYTHON.rglob("*.py")}
    found = []
    for path, text in {**sources(), **python}.items():
        for attribute, values in (("type", types), ("role", roles)):
            found += [
                f"{path}: {attribute}={value}"
                for value in values
                if re.search(rf"\b{attribute}[\"']?\s*(=|:|,)\s*[\"']?{value}\b", text)
            ]
    assert found == [], "rebuild Pico with frontend/pico/build.sh for: " + ", ".join(found)


def test_every_pico_variable_the_console_reads_is_declared_in_the_trimmed_stylesheet():
    # A colour or size read from a variable the build dropped would silently fall back to nothing.
    pico = (STATIC / "vendor" / "pico-2.1.1.console.min.css").read_text()
    declared = set(re.findall(r"(--pico-[\w-]+):", pico))
    own = [STATIC / "css" / "console.css", *(settings.BASE_DIR / "templates").rglob("*.html")]
    read = {name for f in own for name in re.findall(r"var\(\s*(--pico-[\w-]+)", f.read_text())}
    assert "--pico-primary" in read
    assert sorted(read - declared) == [], "rebuild Pico with frontend/pico/build.sh"
