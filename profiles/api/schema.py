"""
A drf-spectacular postprocessing hook: what every operation shares, said once.

- Every operation may answer with the API's error shape (``ErrorResponse``) for the
  statuses it can produce; clients and schemathesis see those answers documented.
- Fields the models do not describe (links, labels beside choices) get their
  description from their name, so every property in the schema is described.
"""

import copy

ERROR = {
    "type": "object",
    "description": "Every error of the API has this shape.",
    "properties": {
        "error": {
            "type": "object",
            "description": "What went wrong.",
            "properties": {
                "status": {"type": "integer", "description": "The HTTP status, repeated."},
                "code": {"type": "string", "description": "A stable machine-readable code: invalid, not_found, ..."},
                "message": {"type": "string", "description": "What went wrong, for a person."},
                "fields": {
                    "type": "object",
                    "description": "Errors by field or parameter name (400 only).",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["status", "code", "message"],
        }
    },
    "required": ["error"],
}

STATUSES = {
    "400": "Invalid input, parameter or page size (the message says why).",
    "401": "Authentication needed (a write without a token or session).",
    "403": "Not allowed: no permission, or the workflow forbids this change of state.",
    "404": "No such object (or not visible to you).",
    "405": "Method not allowed on this URL.",
    "406": "The requested format is not available.",
    "409": "Someone else saved the object while you were saving it, or (a delete) other rows still refer to it.",
    "412": "If-Match names another version than the stored one.",
    "413": "The request body is larger than the API accepts.",
    "415": "Unsupported media type: send JSON.",
    "429": "Too many requests: wait for Retry-After seconds.",
}
READ_STATUSES = ["400", "404", "405", "406", "429"]
WRITE_STATUSES = list(STATUSES)

DESCRIPTIONS = {
    "url": "This object's address in the API.",
    "html_url": "This object's public page on the site.",
    "id": "Identifier of this object in the API.",
    "slug": "Identifier in addresses.",
    "name": "Name.",
    "title": "Title.",
    "updated": "When the object was last changed.",
    "count": "Number of results on all pages.",
    "next": "The next page, or null on the last one.",
    "previous": "The previous page, or null on the first one.",
    "results": "The objects on this page.",
    "number": "The source's number on the lab's profile ([1], [2]...).",
    "claims": "What the profile cites the source for.",
    "source": "The source cited.",
    "version": "Goes up by one with every save; send it (or the ETag) in If-Match when writing.",
    "state": "Publication state: readers only ever see published rows.",
    "published_at": "When the row went (or goes) live.",
}


def _describe(schema, name):
    if "description" in schema:
        return
    if "$ref" in schema:
        # OpenAPI 3.0 ignores siblings of $ref: wrap it so the description counts.
        schema["allOf"] = [{"$ref": schema.pop("$ref")}]
    if name in DESCRIPTIONS:
        schema["description"] = DESCRIPTIONS[name]
    elif name.endswith("_display"):
        schema["description"] = f"The human-readable label of `{name.removesuffix('_display')}`."
    elif "allOf" in schema:
        schema["description"] = f"The {name.replace('_', ' ')} (an object of its own)."
    else:
        schema["description"] = name.replace("_", " ").capitalize() + "."


ALWAYS_URLS = {"url", "html_url", "next", "previous"}


def _blank_url(prop, name):
    """A URL the model allows to be blank comes out as "": say so (it is not a "uri" then)."""
    if prop.get("format") == "uri" and name not in ALWAYS_URLS:
        nullable = prop.pop("nullable", False)
        prop.pop("type"), prop.pop("format")
        prop["oneOf"] = [{"type": "string", "format": "uri"}, {"type": "string", "enum": [""]}]
        if nullable:
            prop["nullable"] = True


def _walk(schema):
    for name, prop in (schema.get("properties") or {}).items():
        _blank_url(prop, name)
        _describe(prop, name)
        _walk(prop)
        if isinstance(prop.get("items"), dict):
            _walk(prop["items"])


def add_errors_and_descriptions(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorResponse"] = copy.deepcopy(ERROR)
    for component in components.values():
        _walk(component)
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = READ_STATUSES if method == "get" else WRITE_STATUSES
            if method == "get" and "security" in operation and {} not in operation["security"]:
                # Anyone may read (StaffModelPermissions): credentials are optional on GET.
                operation["security"].append({})
            if method == "get":
                # Every GET's ETag is a hash of its body (lists and details alike).
                operations[method]["responses"].setdefault(
                    "304", {"description": "Not modified: If-None-Match names the ETag of the body as it is now."}
                )
            for code in statuses:
                operation["responses"].setdefault(
                    code, {"description": STATUSES[code], "content": {"application/json": {"schema": ref}}}
                )
            for parameter in operation.get("parameters", []):
                parameter.setdefault("description", parameter["name"].replace("_", " ").capitalize() + ".")
                if parameter["in"] == "query" and parameter["name"] not in ("page", "page_size"):
                    # ?kind=&country= (an empty filter, as the browsable API's form sends it) means "any".
                    parameter["allowEmptyValue"] = True
    return result
