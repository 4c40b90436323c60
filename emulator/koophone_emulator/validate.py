"""Request checks shared by the operations. Every failure is KOOPHONE.API.1000 naming the field.

Integers are accepted as JSON numbers or digit strings (Java services coerce those), never as
booleans or fractions; strings must be strings. Duplicate ids in a list are served once.
"""

from .errors import bad_param


def body_object(body):
    if not isinstance(body, dict):
        raise bad_param("the request body must be a JSON object")
    return body


def text(body, field, max_len, required=True):
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise bad_param("%s is required" % field)
        return None
    if not isinstance(value, str):
        raise bad_param("%s must be a string" % field)
    if len(value) > max_len:
        raise bad_param("%s must be at most %d characters" % (field, max_len))
    return value


def identifier(value, field, max_len=32):
    # Liberal about numbers here only: the reference's own unassign example sends user_id: 1123422.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise bad_param("%s must be a non-empty string" % field)
    if len(value) > max_len:
        raise bad_param("%s must be at most %d characters" % (field, max_len))
    return value


def id_list(body, field, max_items, max_len=32):
    values = body.get(field)
    if not isinstance(values, list) or not values:
        raise bad_param("%s must be a non-empty list" % field)
    if len(values) > max_items:
        raise bad_param("%s must have at most %d items" % (field, max_items))
    for value in values:
        if not isinstance(value, str) or not value:
            raise bad_param("%s items must be non-empty strings" % field)
        if len(value) > max_len:
            raise bad_param("%s items must be at most %d characters" % (field, max_len))
    return list(dict.fromkeys(values))


def integer(value, field, minimum=None, maximum=None, choices=None):
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_param("%s must be an integer" % field)
    if choices is not None and value not in choices:
        raise bad_param("%s must be one of %s" % (field, ", ".join(str(choice) for choice in choices)))
    if minimum is not None and value < minimum:
        raise bad_param("%s must be at least %d" % (field, minimum))
    if maximum is not None and value > maximum:
        raise bad_param("%s must be at most %d" % (field, maximum))
    return value


def number(value, field):
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise bad_param("%s must be a number" % field) from None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise bad_param("%s must be a number" % field)
    return value


def query_int(query, field, minimum, maximum=None, required=True):
    value = query.get(field)
    if value is None or value == "":
        if required:
            raise bad_param("%s is required" % field)
        return None
    return integer(value, field, minimum, maximum)
