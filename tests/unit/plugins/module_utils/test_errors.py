"""_errors: what a failed call carries and how it reads, and the table of the service's error codes."""

import pytest

from ansible_collections.koophone.cloud.plugins.module_utils import _errors as errors
from ansible_collections.koophone.cloud.plugins.module_utils._errors import (
    InvalidOption,
    KooPhoneAuthError,
    KooPhoneError,
    KooPhonePermissionError,
)


def test_an_error_reads_with_everything_support_needs():
    error = KooPhoneError(
        "refused",
        operation="BatchRebootInstance",
        status=400,
        error_code="KOOPHONE.API.5005",
        error_msg="instance not running",
        request_id="rid-1",
    )
    assert str(error) == (
        "refused (operation=BatchRebootInstance, http_status=400, error_code=KOOPHONE.API.5005, "
        "error_msg=instance not running, x-request-id=rid-1)"
    )
    assert error.describe(request_id=False, operation=False) == (
        "refused (http_status=400, error_code=KOOPHONE.API.5005, error_msg=instance not running)"
    )
    assert error.to_dict() == {
        "operation": "BatchRebootInstance",
        "status": 400,
        "error_code": "KOOPHONE.API.5005",
        "error_msg": "instance not running",
        "request_id": "rid-1",
        "maybe_applied": False,
    }


def test_an_error_msg_already_in_the_message_is_not_repeated_and_a_bare_error_is_its_message():
    assert str(KooPhoneError("instance not running", error_msg="instance not running")) == "instance not running"
    assert str(KooPhoneError("connection broke", maybe_applied=True)) == "connection broke"
    assert KooPhoneError("x", maybe_applied=True).to_dict()["maybe_applied"] is True


def test_the_kinds_of_errors_are_koophone_errors_and_an_invalid_option_names_the_option():
    assert issubclass(KooPhoneAuthError, KooPhoneError) and issubclass(KooPhonePermissionError, KooPhoneError)
    error = InvalidOption("count", "is 0; it must be between 1 and 99999")
    assert isinstance(error, ValueError) and error.option == "count"
    assert str(error) == "count: is 0; it must be between 1 and 99999"


@pytest.mark.parametrize(
    "code,normal",
    [
        ("KooPhone.API.1001", "KOOPHONE.API.1001"),
        (" koophone.api.1001 ", "KOOPHONE.API.1001"),
        ("1001", "KOOPHONE.API.1001"),
        (1001, "KOOPHONE.API.1001"),
        ("apigw.0301", "APIGW.0301"),
        ("KPAPI.2209", "KPAPI.2209"),
        (None, ""),
    ],
)
def test_normal_code(code, normal):
    assert errors.normal_code(code) == normal


@pytest.mark.parametrize(
    "code,number",
    [
        ("KOOPHONE.API.62017", "62017"),
        ("koophone.api.1323", "1323"),
        ("KPAPI.2209", "2209"),
        ("62005", "62005"),
        ("APIGW.0101", "APIGW.0101"),
        ("CPS0005", "CPS0005"),
        (None, ""),
    ],
)
def test_code_number(code, number):
    assert errors.code_number(code) == number


@pytest.mark.parametrize(
    "code,kind",
    [
        ("KOOPHONE.API.1001", errors.PERMISSION),
        ("koophone.api.1003", errors.PERMISSION),
        ("KOOPHONE.API.6002", errors.PERMISSION),
        ("KOOPHONE.API.6001", errors.TOKEN_INVALID),
        ("6001", errors.TOKEN_INVALID),
        ("APIGW.0301", errors.TOKEN_INVALID),
        ("APIGW.0307", errors.TOKEN_INVALID),
        ("KOOPHONE.API.1323", errors.UNKNOWN_TASK),
        ("KOOPHONE.API.5005", None),
        ("", None),
        (None, None),
    ],
)
def test_error_kind(code, kind):
    assert errors.error_kind(code) == kind


def test_every_code_in_the_table_is_written_as_the_service_does_and_has_a_reason():
    for code, (kind, reason) in errors.ERROR_CODES.items():
        assert errors.normal_code(code) == code
        assert kind in (errors.TOKEN_INVALID, errors.PERMISSION, errors.UNKNOWN_TASK) and reason


def test_is_code_reads_errors_and_codes():
    assert errors.is_code(KooPhoneError("x", error_code="KOOPHONE.API.1323"), "1323")
    assert errors.is_code("KooPhone.API.62005", "62005")
    assert errors.is_code("KPAPI.1001", "1001")
    assert not errors.is_code(KooPhoneError("x", error_code="KOOPHONE.API.13230"), "1323")
    assert not errors.is_code(KooPhoneError("x"), "1323")
    assert not errors.is_code("", "")
    assert not errors.is_code(None, "")


def test_an_error_built_from_words_that_are_not_text_still_describes_itself():
    error = KooPhoneError(5, operation="SetVideo", status=400, error_code=1000, error_msg={"reason": "internal"})
    assert (error.message, error.error_code, error.error_msg) == ("5", "1000", "{'reason': 'internal'}")
    assert str(error) == "5 (operation=SetVideo, http_status=400, error_code=1000, error_msg={'reason': 'internal'})"
