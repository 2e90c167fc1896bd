"""The catalog of base metrics: what each one can be filtered and grouped by, and how often.

This is data, not behaviour. The sandbox serves it from its ``parameters`` endpoint, and the
console falls back to it when the upstream's ``parameters`` endpoint fails. It follows the
public Embrace documentation; where that is silent the
choices are written down in docs/sandbox.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GRANULARITIES: tuple[str, ...] = ("five_minute", "hourly", "daily")
DEFAULT_GRANULARITY = "hourly"
GRANULARITY_LABELS = {"five_minute": "Every 5 minutes", "hourly": "Hourly", "daily": "Daily"}

DESTINATIONS: tuple[str, ...] = ("metrics_api", "newrelic", "datadog", "grafana_cloud")
DEFAULT_DESTINATION = "metrics_api"
DESTINATION_LABELS = {
    "metrics_api": "Embrace Metrics API",
    "newrelic": "New Relic",
    "datadog": "Datadog",
    "grafana_cloud": "Grafana Cloud",
}

VALUE_TYPES: tuple[str, ...] = ("string", "int", "boolean", "range", "property")
OPERATORS: tuple[str, ...] = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "like", "nlike")
OPERATOR_LABELS = {
    "eq": "is",
    "neq": "is not",
    "gt": "is greater than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "in": "is one of",
    "like": "contains",
    "nlike": "does not contain",
}

# Property-style group-bys take a key after a dot: ``session_property.city``.
PROPERTY_GROUP_BYS: tuple[str, ...] = ("session_property", "log_property", "root_span_attribute")

KEY_LABELS = {
    "app_version": "app version",
    "os_version": "OS version",
    "os_major_version": "OS major version",
    "country": "country",
    "model": "device model",
    "top_n_market_name": "device market name (top 50)",
    "has_anr": "had an ANR",
    "method": "method",
    "sample_type": "sample type",
    "msg": "message",
    "tag_name": "tag name",
    "tag_value": "tag value",
    "group_id": "exception group",
    "is_handled": "is handled",
    "state": "state",
    "log_property_key": "log property key",
    "log_property_value": "log property value",
    "log_property": "log property",
    "type": "log type",
    "duration_bucket": "duration bucket (ms)",
    "moment_property_key": "moment property key",
    "moment_property_value": "moment property value",
    "moment_property": "moment property",
    "name": "name",
    "domain": "domain",
    "path": "path",
    "status_code": "status code",
    "top_n_domain": "domain (top 50)",
    "top_n_path": "path (top 50)",
    "session_property_key": "session property key",
    "sessions_property_value": "session property value",
    "session_property": "session property",
    "root_span_attribute_key": "root span attribute key",
    "root_span_attribute_value": "root span attribute value",
    "root_span_attribute": "root span attribute",
    "root_span_duration_bucket": "root span duration bucket (ms)",
    "root_span_name": "root span name",
    "root_span_outcome": "root span outcome",
}

# Duration buckets (ms): a filter value is the lower bound of a bucket.
DURATION_BUCKETS: tuple[int, ...] = (
    0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 2000, 3000, 4000, 5000, 10000, 15000,
)  # fmt: skip


@dataclass(frozen=True)
class FilterSpec:
    """One filter key of a base metric: its value type and the operators it supports."""

    name: str
    type: str
    supported_ops: tuple[str, ...]

    @property
    def label(self) -> str:
        return key_label(self.name)

    def as_json(self) -> dict:
        return {"name": self.name, "supported_ops": list(self.supported_ops), "type": self.type}


@dataclass(frozen=True)
class BaseMetric:
    """A base Embrace metric that custom metrics aggregate, as the ``parameters`` endpoint gives it."""

    metric: str
    display_name: str
    description: str
    filters: tuple[FilterSpec, ...]
    group_by: tuple[str, ...]
    time_granularity: tuple[str, ...]
    data_destination: tuple[str, ...]

    def filter(self, name: str) -> FilterSpec | None:
        return next((f for f in self.filters if f.name == name), None)

    def allows_group_by(self, key: str) -> bool:
        """Whether ``key`` is a valid group-by of this metric.

        A property group-by needs its property key (``session_property.city``): the bare
        ``session_property`` names no label, so it is not a valid group-by on its own.
        """
        prefix, dot, rest = key.partition(".")
        if prefix in PROPERTY_GROUP_BYS:
            return bool(dot and rest.strip()) and prefix in self.group_by
        return key in self.group_by

    def as_json(self) -> dict:
        """The element of the ``parameters`` endpoint's array that describes this metric."""
        return {
            "metric": self.metric,
            "display_name": self.display_name,
            "description": self.description,
            "filters": [f.as_json() for f in self.filters],
            "group_by": list(self.group_by),
            "time_granularity": list(self.time_granularity),
            "data_destination": list(self.data_destination),
        }


def key_label(key: str) -> str:
    """A filter or group-by key in words: ``os_version`` → "OS version"."""
    prefix, dot, rest = key.partition(".")
    if dot and prefix in PROPERTY_GROUP_BYS:
        return f"{KEY_LABELS.get(prefix, prefix)} “{rest}”"
    return KEY_LABELS.get(key, key.replace("_", " "))


_STRING = ("eq", "neq", "in")
_TEXT = ("eq", "neq", "like", "nlike", "in")
_NUMBER = ("eq", "neq", "gt", "gte", "lt", "lte", "in")
_BUCKET = ("eq", "gt", "gte", "lt", "lte")


def _f(name: str, type_: str, ops: Iterable[str]) -> FilterSpec:
    return FilterSpec(name, type_, tuple(ops))


GLOBAL_FILTERS: tuple[FilterSpec, ...] = (
    _f("app_version", "string", _STRING),
    _f("country", "string", _STRING),
    _f("model", "string", _TEXT),
    _f("os_major_version", "int", _NUMBER),
    _f("os_version", "string", _STRING),
)
GLOBAL_GROUP_BYS: tuple[str, ...] = (
    "app_version",
    "country",
    "os_major_version",
    "os_version",
    "top_n_market_name",
)

_ANR = (_f("method", "string", ("eq", "like", "in")), _f("sample_type", "string", _STRING))
_EXCEPTIONS = (
    _f("group_id", "string", _STRING),
    _f("is_handled", "boolean", ("eq",)),
    _f("msg", "string", ("like", "nlike")),
    _f("state", "string", _STRING),
)
_NETWORK = (
    _f("domain", "string", _TEXT),
    _f("method", "string", ("eq", "in")),
    _f("path", "string", ("eq", "like")),
)
_SESSIONS = (
    _f("has_anr", "boolean", ("eq",)),
    _f("session_property", "property", ("eq", "neq")),
    _f("session_property_key", "string", _STRING),
    _f("sessions_property_value", "string", _TEXT),
)
_ROOT_SPANS = (
    _f("root_span_attribute", "property", ("eq", "neq")),
    _f("root_span_attribute_key", "string", _STRING),
    _f("root_span_attribute_value", "string", _TEXT),
    _f("root_span_name", "string", _TEXT),
    _f("root_span_outcome", "string", _STRING),
)
_ALL = GRANULARITIES
_NO_FIVE_MINUTE = ("hourly", "daily")


def _metric(
    metric: str,
    display_name: str,
    description: str,
    filters: Iterable[FilterSpec] = (),
    group_by: Iterable[str] = (),
    granularities: tuple[str, ...] = _ALL,
) -> BaseMetric:
    return BaseMetric(
        metric=metric,
        display_name=display_name,
        description=description,
        filters=GLOBAL_FILTERS + tuple(filters),
        group_by=GLOBAL_GROUP_BYS + tuple(group_by),
        time_granularity=granularities,
        data_destination=DESTINATIONS,
    )


BASE_METRICS: tuple[BaseMetric, ...] = (
    _metric("anrs_total", "ANR count", "Number of ANRs (app not responding).", _ANR),
    _metric("anrs_duration_total", "ANR duration", "Sum of ANR durations.", _ANR),
    _metric(
        "crashes_total",
        "Crash count",
        "Number of crashes.",
        (
            _f("msg", "string", ("like", "nlike")),
            _f("tag_name", "string", ("eq", "neq")),
            _f("tag_value", "string", ("eq", "neq")),
        ),
    ),
    _metric(
        "flutter_exceptions_total",
        "Flutter exception count",
        "Number of Flutter exceptions.",
        _EXCEPTIONS,
        ("group_id", "msg"),
    ),
    _metric(
        "logs_total",
        "Log count",
        "Number of logs.",
        (
            _f("log_property", "property", ("eq", "neq")),
            _f("log_property_key", "string", _STRING),
            _f("log_property_value", "string", _TEXT),
            _f("msg", "string", ("like", "nlike")),
            _f("type", "string", ("eq", "in")),
        ),
        ("log_property",),
    ),
    _metric(
        "moments_total",
        "Moment count",
        "Number of moments.",
        (
            _f("duration_bucket", "int", _BUCKET),
            _f("moment_property_key", "string", _STRING),
            _f("moment_property_value", "string", _TEXT),
            _f("name", "string", _TEXT),
        ),
        ("duration_bucket", "moment_property_value"),
    ),
    _metric(
        "network_requests_successful_duration_total",
        "Successful network request duration",
        "Sum of the durations of successful network requests.",
        _NETWORK,
        ("top_n_domain", "top_n_path"),
        _NO_FIVE_MINUTE,
    ),
    _metric(
        "network_requests_successful_total",
        "Successful network requests",
        "Number of successful network requests.",
        _NETWORK + (_f("duration_bucket", "int", _BUCKET),),
        ("top_n_domain", "top_n_path"),
        _NO_FIVE_MINUTE,
    ),
    _metric(
        "network_requests_total",
        "Network requests",
        "Number of network requests.",
        _NETWORK + (_f("status_code", "range", ("eq",)),),
        ("status_code", "top_n_domain", "top_n_path"),
    ),
    _metric(
        "sessions_total",
        "Session count",
        "Number of sessions.",
        _SESSIONS,
        ("session_property",),
    ),
    _metric(
        "sessions_duration_total",
        "Session duration",
        "Sum of session durations.",
        _SESSIONS,
        ("session_property",),
    ),
    _metric(
        "root_spans_total",
        "Root span count",
        "Number of root spans.",
        _ROOT_SPANS + (_f("root_span_duration_bucket", "int", _BUCKET),),
        ("root_span_attribute", "root_span_duration_bucket", "root_span_name", "root_span_outcome"),
    ),
    _metric(
        "root_spans_duration_total",
        "Root span duration",
        "Sum of root span durations.",
        _ROOT_SPANS,
        ("root_span_attribute", "root_span_name", "root_span_outcome"),
    ),
    _metric(
        "unity_exceptions_total",
        "Unity exception count",
        "Number of Unity exceptions.",
        _EXCEPTIONS,
        ("group_id", "msg"),
    ),
)

CATALOG: Mapping[str, BaseMetric] = {m.metric: m for m in BASE_METRICS}


def get(metric: str) -> BaseMetric | None:
    return CATALOG.get(metric)


def display_name(metric: str) -> str:
    """The base metric's name for people, or the raw name when the catalog doesn't know it."""
    known = CATALOG.get(metric)
    return known.display_name if known else metric


def from_parameters(payload: object) -> dict[str, BaseMetric]:
    """Build a catalog from the ``parameters`` endpoint's JSON array.

    Raises ``ValueError`` when the payload doesn't have the documented shape. Display names and
    descriptions the upstream doesn't send come from the built-in catalog.
    """
    if not isinstance(payload, list) or not payload:
        raise ValueError("parameters must be a non-empty JSON array")
    result: dict[str, BaseMetric] = {}
    for item in payload:
        if not isinstance(item, dict) or not isinstance(item.get("metric"), str):
            raise ValueError("each parameters entry needs a metric name")
        name = item["metric"]
        known = CATALOG.get(name)
        filters = []
        for spec in _list(item, "filters"):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise ValueError(f"filter of {name} has no name")
            ops = tuple(op for op in _strings(spec, "supported_ops") if op in OPERATORS)
            type_ = spec.get("type") if spec.get("type") in VALUE_TYPES else "string"
            filters.append(FilterSpec(spec["name"], type_, ops))
        result[name] = BaseMetric(
            metric=name,
            display_name=str(item.get("display_name") or (known.display_name if known else name)),
            description=str(item.get("description") or (known.description if known else "")),
            filters=tuple(filters),
            group_by=_strings(item, "group_by"),
            time_granularity=tuple(g for g in _strings(item, "time_granularity") if g in GRANULARITIES)
            or (DEFAULT_GRANULARITY,),
            data_destination=_strings(item, "data_destination") or (DEFAULT_DESTINATION,),
        )
    return result


def _list(item: dict, key: str) -> list:
    value = item.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list")
    return value


def _strings(item: dict, key: str) -> tuple[str, ...]:
    values = _list(item, key)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"{key} must be a list of strings")
    return tuple(values)


# Custom metric names follow the Prometheus rule without colons (reserved for recording rules).
NAME_PATTERN = r"[a-zA-Z_][a-zA-Z0-9_]*"
NAME_RE = re.compile(NAME_PATTERN)


def is_metric_name(name: object) -> bool:
    return isinstance(name, str) and len(name) <= NAME_MAX_LENGTH and bool(NAME_RE.fullmatch(name))


NAME_MAX_LENGTH = 128


# --- values people pick from rather than spell ----------------------------------------------------

HTTP_METHODS: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
YES_NO: tuple[str, ...] = ("yes", "no")
# Status codes by class, as the ranges a status-code condition takes: (start, end, words).
STATUS_RANGES: tuple[tuple[str, str, str], ...] = (
    ("200", "299", "2xx: success"),
    ("300", "399", "3xx: redirect"),
    ("400", "499", "4xx: client error"),
    ("500", "599", "5xx: server error"),
)


def _codes(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((line[:2], line[3:]) for line in text.strip().splitlines())


# ISO 3166-1 alpha-2 codes and short names, generated from Debian's iso-codes 4.15.0
# (/usr/share/iso-codes/json/iso_3166-1.json, maintained with the ISO 3166 agency's updates): a
# 249-line table is lighter than a country package, and the upstream takes exactly these codes.
COUNTRIES: tuple[tuple[str, str], ...] = _codes("""
AD Andorra
AE United Arab Emirates
AF Afghanistan
AG Antigua and Barbuda
AI Anguilla
AL Albania
AM Armenia
AO Angola
AQ Antarctica
AR Argentina
AS American Samoa
AT Austria
AU Australia
AW Aruba
AX Åland Islands
AZ Azerbaijan
BA Bosnia and Herzegovina
BB Barbados
BD Bangladesh
BE Belgium
BF Burkina Faso
BG Bulgaria
BH Bahrain
BI Burundi
BJ Benin
BL Saint Barthélemy
BM Bermuda
BN Brunei Darussalam
BO Bolivia
BQ Bonaire, Sint Eustatius and Saba
BR Brazil
BS Bahamas
BT Bhutan
BV Bouvet Island
BW Botswana
BY Belarus
BZ Belize
CA Canada
CC Cocos (Keeling) Islands
CD Congo, The Democratic Republic of the
CF Central African Republic
CG Congo
CH Switzerland
CI Côte d'Ivoire
CK Cook Islands
CL Chile
CM Cameroon
CN China
CO Colombia
CR Costa Rica
CU Cuba
CV Cabo Verde
CW Curaçao
CX Christmas Island
CY Cyprus
CZ Czechia
DE Germany
DJ Djibouti
DK Denmark
DM Dominica
DO Dominican Republic
DZ Algeria
EC Ecuador
EE Estonia
EG Egypt
EH Western Sahara
ER Eritrea
ES Spain
ET Ethiopia
FI Finland
FJ Fiji
FK Falkland Islands (Malvinas)
FM Micronesia, Federated States of
FO Faroe Islands
FR France
GA Gabon
GB United Kingdom
GD Grenada
GE Georgia
GF French Guiana
GG Guernsey
GH Ghana
GI Gibraltar
GL Greenland
GM Gambia
GN Guinea
GP Guadeloupe
GQ Equatorial Guinea
GR Greece
GS South Georgia and the South Sandwich Islands
GT Guatemala
GU Guam
GW Guinea-Bissau
GY Guyana
HK Hong Kong
HM Heard Island and McDonald Islands
HN Honduras
HR Croatia
HT Haiti
HU Hungary
ID Indonesia
IE Ireland
IL Israel
IM Isle of Man
IN India
IO British Indian Ocean Territory
IQ Iraq
IR Iran
IS Iceland
IT Italy
JE Jersey
JM Jamaica
JO Jordan
JP Japan
KE Kenya
KG Kyrgyzstan
KH Cambodia
KI Kiribati
KM Comoros
KN Saint Kitts and Nevis
KP North Korea
KR South Korea
KW Kuwait
KY Cayman Islands
KZ Kazakhstan
LA Laos
LB Lebanon
LC Saint Lucia
LI Liechtenstein
LK Sri Lanka
LR Liberia
LS Lesotho
LT Lithuania
LU Luxembourg
LV Latvia
LY Libya
MA Morocco
MC Monaco
MD Moldova
ME Montenegro
MF Saint Martin (French part)
MG Madagascar
MH Marshall Islands
MK North Macedonia
ML Mali
MM Myanmar
MN Mongolia
MO Macao
MP Northern Mariana Islands
MQ Martinique
MR Mauritania
MS Montserrat
MT Malta
MU Mauritius
MV Maldives
MW Malawi
MX Mexico
MY Malaysia
MZ Mozambique
NA Namibia
NC New Caledonia
NE Niger
NF Norfolk Island
NG Nigeria
NI Nicaragua
NL Netherlands
NO Norway
NP Nepal
NR Nauru
NU Niue
NZ New Zealand
OM Oman
PA Panama
PE Peru
PF French Polynesia
PG Papua New Guinea
PH Philippines
PK Pakistan
PL Poland
PM Saint Pierre and Miquelon
PN Pitcairn
PR Puerto Rico
PS Palestine, State of
PT Portugal
PW Palau
PY Paraguay
QA Qatar
RE Réunion
RO Romania
RS Serbia
RU Russian Federation
RW Rwanda
SA Saudi Arabia
SB Solomon Islands
SC Seychelles
SD Sudan
SE Sweden
SG Singapore
SH Saint Helena, Ascension and Tristan da Cunha
SI Slovenia
SJ Svalbard and Jan Mayen
SK Slovakia
SL Sierra Leone
SM San Marino
SN Senegal
SO Somalia
SR Suriname
SS South Sudan
ST Sao Tome and Principe
SV El Salvador
SX Sint Maarten (Dutch part)
SY Syria
SZ Eswatini
TC Turks and Caicos Islands
TD Chad
TF French Southern Territories
TG Togo
TH Thailand
TJ Tajikistan
TK Tokelau
TL Timor-Leste
TM Turkmenistan
TN Tunisia
TO Tonga
TR Türkiye
TT Trinidad and Tobago
TV Tuvalu
TW Taiwan
TZ Tanzania
UA Ukraine
UG Uganda
UM United States Minor Outlying Islands
US United States
UY Uruguay
UZ Uzbekistan
VA Holy See (Vatican City State)
VC Saint Vincent and the Grenadines
VE Venezuela
VG Virgin Islands, British
VI Virgin Islands, U.S.
VN Vietnam
VU Vanuatu
WF Wallis and Futuna
WS Samoa
YE Yemen
YT Mayotte
ZA South Africa
ZM Zambia
ZW Zimbabwe
""")

# Which vocabulary a filter key takes: (base metric or "" for any, key) -> (value, words) pairs.
# "method" on ANRs is a code method, not an HTTP one, so the HTTP list is tied to network metrics.
_NETWORK_METRICS = (
    "network_requests_total",
    "network_requests_successful_total",
    "network_requests_successful_duration_total",
)
_KNOWN: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("", "country"): COUNTRIES,
    **{(m, "method"): tuple((v, v) for v in HTTP_METHODS) for m in _NETWORK_METRICS},
}


def known_values(metric: str, key: str) -> tuple[tuple[str, str], ...]:
    """The values ``key`` takes on ``metric`` that the console can offer, as (value, words) pairs."""
    return _KNOWN.get((metric, key)) or _KNOWN.get(("", key), ())
