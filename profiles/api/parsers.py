"""
The API's parsers: DRF's, refusing what no endpoint can take as a 400 rather than a 500 —
text holding a NUL (PostgreSQL stores none, and a lookup by a slug holding one fails
there), and JSON nested too deeply for Python to parse.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError


def fields_with_null_characters(data):
    """The top-level fields of a parsed body whose text (keys included, at any depth) holds a NUL."""
    if hasattr(data, "lists"):  # a form's QueryDict: every value of each field
        fields = data.lists()
    elif isinstance(data, dict):
        fields = data.items()
    else:
        fields = [("non_field_errors", data)]
    found = set()
    for field, value in fields:
        # A stack, not recursion: the body may be nested nearly as deep as the parser allows.
        stack = [field, value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if "\x00" in item:
                    found.add(field.replace("\x00", "\\u0000"))
                    break
            elif isinstance(item, dict):
                stack += [*item.keys(), *item.values()]
            elif isinstance(item, list):
                stack += item
    return found


class RefuseNullCharacters:
    """A parser whose result may hold no NUL: a 400 naming the fields, as DRF's text fields answer."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        fields = fields_with_null_characters(getattr(parsed, "data", parsed))  # multipart: DataAndFiles
        if fields:
            raise ValidationError(
                {field: ["Null characters are not allowed."] for field in sorted(fields)},
                code="null_characters_not_allowed",
            )
        return parsed


class JSONParser(RefuseNullCharacters, parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json.load() recurses once per level of nesting: [[[...]]] a few thousand deep
            # exhausts the stack, which is malformed input from the client, not a server error.
            raise ParseError("JSON parse error - the document is nested too deeply.") from None


class FormParser(RefuseNullCharacters, parsers.FormParser):
    pass


class MultiPartParser(RefuseNullCharacters, parsers.MultiPartParser):
    pass
