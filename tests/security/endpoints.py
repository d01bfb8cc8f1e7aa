"""Every endpoint, found rather than listed: API operations from the OpenAPI schema, pages from the
URL resolver, WebSocket routes from the ASGI router. New endpoints are covered without edits."""
from functools import lru_cache

from django.urls import URLPattern, URLResolver, get_resolver

SKIP_PAGE_PREFIXES = ("admin/", "api/", "static/", "media/")


@lru_cache(maxsize=1)
def openapi() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def api_operations() -> list[tuple[str, str, dict]]:
    """(METHOD, path template, operation) for every operation in the schema."""
    ops = []
    for path, methods in openapi()["paths"].items():
        for method, op in methods.items():
            ops.append((method.upper(), path, op))
    return ops


def path_params(op: dict) -> list[str]:
    return [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]


def resolve_ref(schema: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = openapi()["components"]["schemas"][name]
    return schema


def body_schema(op: dict, content_type: str = "application/json") -> dict | None:
    content = op.get("requestBody", {}).get("content", {})
    if content_type not in content:
        return None
    return resolve_ref(content[content_type].get("schema", {}))


def file_fields(op: dict) -> list[str]:
    """Names of the binary (file) fields of a multipart request body."""
    schema = body_schema(op, "multipart/form-data") or {}
    return [name for name, prop in schema.get("properties", {}).items()
            if resolve_ref(prop).get("format") == "binary"]


def sample_body(op: dict, text: str = "hijack") -> dict:
    """A plausible JSON body for a write: every property set to a value that would change something."""
    schema = body_schema(op) or {}
    body = {}
    for name, prop in schema.get("properties", {}).items():
        prop = resolve_ref(prop)
        if prop.get("readOnly"):
            continue
        if "enum" in prop:
            choices = [c for c in prop["enum"] if c not in ("", None)]
            body[name] = choices[0] if choices else None
        elif "allOf" in prop or "oneOf" in prop:
            inner = resolve_ref((prop.get("allOf") or prop.get("oneOf"))[0])
            choices = [c for c in inner.get("enum", []) if c not in ("", None)]
            body[name] = choices[0] if choices else text
        elif prop.get("type") == "boolean":
            body[name] = False
        elif prop.get("type") in ("integer", "number"):
            body[name] = 1
        elif prop.get("type") == "array":
            body[name] = []
        else:
            body[name] = text
    return body


def fill(template: str, values: dict) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def page_routes() -> list[tuple[str, list[str]]]:
    """(route, [parameter names]) for every server-rendered page (not the API, admin or files)."""
    out = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(SKIP_PAGE_PREFIXES) or route.startswith("^"):
            continue
        out.append((route, list(pattern.pattern.converters)))
    return out


def page_url(route: str, values: dict) -> str:
    import re

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


def websocket_routes() -> list[tuple[str, list[str], object]]:
    """(route, [parameter names], consumer application) behind the ASGI websocket router."""
    from channels.routing import URLRouter

    from config.asgi import application

    app = application.application_mapping["websocket"]
    while not isinstance(app, URLRouter):
        app = getattr(app, "inner", None) or getattr(app, "application", None)
        if app is None:
            raise AssertionError("no URLRouter found behind the websocket entry of config.asgi")
    out = []
    for route, pattern in _walk(app.routes):
        out.append((route, list(pattern.pattern.converters), pattern.callback))
    return out
