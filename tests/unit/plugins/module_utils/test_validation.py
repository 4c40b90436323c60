"""_validation: the limits the reference states, checked before any request, naming the option and the limit."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _validation as validation


def test_ids_are_non_empty_and_at_most_32_characters(refused):
    assert validation.check_ids("instance_ids", ["a" * 32, "b"]) == ["a" * 32, "b"]
    assert validation.check_ids("instance_ids", None) is None
    error = refused(validation.check_ids, "instance_ids", ["ok", "x" * 33])
    assert error.option == "instance_ids" and "33 characters" in str(error) and "at most 32" in str(error)
    assert "empty id" in str(refused(validation.check_ids, "instance_ids", ["ok", "  "]))
    assert "at most 5" in str(refused(validation.check_ids, "user_id", [123456], 5))


def test_length_and_range(refused):
    assert validation.check_length("name_prefix", "p" * 14, 14) == "p" * 14
    assert validation.check_length("name_prefix", None, 14) is None
    assert "15 characters long; the API allows at most 14" in str(
        refused(validation.check_length, "name_prefix", "p" * 15, 14)
    )
    assert validation.check_range("count", 1, 1, 9) == 1 and validation.check_range("count", None, 1, 9) is None
    error = refused(validation.check_range, "count", 10, 1, 9)
    assert error.option == "count" and "is 10; it must be between 1 and 9" in str(error)


@pytest.mark.parametrize("value", ["2023-08-15 14:30:45", None])
def test_query_times_that_pass(value):
    assert validation.check_query_time("query_start_time", value) == value


@pytest.mark.parametrize("value", ["2023-08-15T14:30:45", "2023-08-15", "15.08.2023 14:30:45", " 2023-08-15 14:30:45"])
def test_query_times_that_do_not(refused, value):
    error = refused(validation.check_query_time, "query_start_time", value)
    assert error.option == "query_start_time" and "2023-08-15 14:30:45" in str(error)


def test_commands_are_not_empty_and_at_most_1024_bytes(refused):
    assert validation.check_command("command", "x" * 1024) == "x" * 1024
    for empty in (None, "", "  \n"):
        assert "must not be empty" in str(refused(validation.check_command, "command", empty))
    assert "1026 bytes" in str(refused(validation.check_command, "command", "\u20ac" * 342))


@pytest.mark.parametrize("command", ["pm list packages com.example.app", "getprop ro.product.model", "ls -l /system"])
def test_commands_the_collection_composes_use_the_portable_characters(command):
    assert validation.PORTABLE_COMMAND.match(command)


@pytest.mark.parametrize("command", ["dumpsys package x | grep versionName", "echo $HOME", "a;b", "", "a\nb"])
def test_shell_syntax_is_not_portable(command):
    assert not validation.PORTABLE_COMMAND.match(command)


@pytest.mark.parametrize(
    "value,number",
    [(2, 2), ("2", 2), (" 3", 3), (None, None), ("x", None), (2.9, 2), (float("inf"), None), (float("nan"), None)],
)
def test_as_int(value, number):
    assert validation.as_int(value) == number


@pytest.mark.parametrize(
    "value,text",
    [
        ("ok", "ok"),
        ("", ""),
        (None, None),
        (5, "5"),
        (2.5, "2.5"),
        (True, "True"),
        (["no", 1], '["no", 1]'),
        ({"b": 1, "a": None}, '{"a": null, "b": 1}'),
    ],
)
def test_as_text_reads_any_json_value_as_text(value, text):
    assert validation.as_text(value) == text


@pytest.mark.parametrize(
    "value,text",
    [("ph001", "ph001"), (5, "5"), ("", None), (None, None), (True, None), (["ph001"], None), ({"a": 1}, None)],
)
def test_id_text_keeps_text_and_digits_and_refuses_the_rest(value, text):
    assert validation.id_text(value) == text


def test_some_names_ten_and_counts_the_rest():
    assert validation.some([]) == ""
    assert validation.some(["a", 1]) == "a, 1"
    assert validation.some(["i%d" % n for n in range(12)]) == ", ".join("i%d" % n for n in range(10)) + " and 2 more"
    assert validation.some("abc", limit=2, separator="; ") == "a; b and 1 more"
    assert validation.some(n for n in range(3)) == "0, 1, 2"


def test_unique_keeps_the_first_of_each():
    assert validation.unique(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
    assert validation.unique([]) == []
