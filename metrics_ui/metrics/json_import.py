"""A whole request body pasted as JSON: its fields put into the posted form (the builder takes its
filter)."""

from metrics_ui import catalog


def merge_import(data, body: dict):
    """Posted form data with the fields of a pasted request body put in (the tree is done already)."""
    merged = data.copy()
    if isinstance(body.get("name"), str):
        merged["name"] = body["name"]
    if isinstance(body.get("metric"), str):
        merged["metric"] = body["metric"]
        merged["built_for"] = body["metric"]
    lists = {k: [v for v in body.get(k) or [] if isinstance(v, str)] for k in
             ("group_by", "time_granularity", "data_destination")}  # fmt: skip
    plain = [g for g in lists["group_by"] if g.partition(".")[0] not in catalog.PROPERTY_GROUP_BYS]
    for prefix in catalog.PROPERTY_GROUP_BYS:
        keys = [g.partition(".")[2] for g in lists["group_by"] if g.startswith(prefix + ".")]
        if keys:
            plain.append(prefix)
            merged[f"group_by_key_{prefix}"] = ", ".join(keys)
    merged.setlist("group_by", plain)
    merged.setlist("time_granularity", lists["time_granularity"])
    merged.setlist("data_destination", lists["data_destination"])
    return merged
