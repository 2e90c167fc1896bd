"""Group-bys between the request body and the form. The body lists ``os_version`` and, for property
group-bys, one ``<prefix>.<key>`` per key (``metadata.city``); the form has one checkbox per
group-by and, for a property group-by, a text field of comma-separated keys."""

from collections.abc import Callable, Iterable

from metrics_ui import catalog


def key_field(prefix: str) -> str:
    """The name of the form field holding a property group-by's keys."""
    return f"group_by_key_{prefix}"


def to_form(group_by: Iterable[str]) -> dict:
    """Form values for the body's ``group_by``: the ticked boxes, and each property's keys."""
    group_by = list(group_by)
    values: dict = {"group_by": sorted({g.partition(".")[0] for g in group_by})}
    for prefix in catalog.PROPERTY_GROUP_BYS:
        keys = [g.partition(".")[2] for g in group_by if g.startswith(prefix + ".")]
        if keys:
            values[key_field(prefix)] = ", ".join(keys)
    return values


def from_form(ticked: Iterable[str], keys_of: Callable[[str], str]) -> tuple[list[str], list[str]]:
    """The body's ``group_by`` from the ticked boxes (``keys_of(prefix)`` gives a property's typed
    keys), and the property group-bys ticked without a key."""
    group_by, missing = [], []
    for choice in ticked:
        if choice not in catalog.PROPERTY_GROUP_BYS:
            group_by.append(choice)
            continue
        keys = [k.strip() for k in str(keys_of(choice)).split(",") if k.strip()]
        if not keys:
            missing.append(choice)
        group_by.extend(f"{choice}.{k}" for k in keys)
    return group_by, missing
