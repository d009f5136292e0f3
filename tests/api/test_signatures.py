"""Cloudinary's signature algorithm: the published example, SHA-256, `&` escaping, lists, and the hour's limit."""
import pytest
from cloudinary.utils import api_sign_request, api_string_to_sign, verify_api_response_signature

from medialib.api.signatures import (
    SignatureInvalid, TimestampInvalid, response_signature, signature_compute, signature_verify, string_to_sign,
)

NOW = 1_700_000_000


def test_cloudinarys_published_example():
    params = {"public_id": "sample_image", "timestamp": "1315060510"}
    assert string_to_sign(params) == "public_id=sample_image&timestamp=1315060510"
    assert signature_compute(params, "abcd") == "b4ad47fb4e25c7bf5f92a20089f9db59bc302313"
    signature_verify({**params, "signature": "b4ad47fb4e25c7bf5f92a20089f9db59bc302313"}, "abcd", now=1315060510 + 60)


def test_sha256_is_recognised_by_its_length():
    params = {"public_id": "sample_image", "timestamp": str(NOW)}
    signature = signature_compute(params, "abcd", algorithm="sha256")
    assert len(signature) == 64
    assert signature == api_sign_request(params, "abcd", "sha256")
    signature_verify({**params, "signature": signature}, "abcd", now=NOW)
    signature_verify({**params, "signature": signature.upper()}, "abcd", now=NOW)


def test_unsigned_parameters_and_empty_values_are_left_out():
    params = {
        "public_id": "x", "timestamp": str(NOW), "file": "data:...", "api_key": "123", "cloud_name": "c",
        "resource_type": "image", "signature": "s", "tags": "", "context": [],
    }
    assert string_to_sign(params) == f"public_id=x&timestamp={NOW}"


def test_lists_are_joined_with_commas():
    params = {"tags": ["dog", "beach"], "timestamp": str(NOW)}
    assert string_to_sign(params) == f"tags=dog,beach&timestamp={NOW}"
    assert signature_compute(params, "s3cret") == api_sign_request(params, "s3cret")


def test_version_2_escapes_ampersands_so_parameters_cannot_be_smuggled():
    smuggled = {"public_id": "a&tags=evil", "timestamp": str(NOW)}
    honest = {"public_id": "a", "tags": "evil", "timestamp": str(NOW)}
    assert string_to_sign(smuggled) == f"public_id=a%26tags=evil&timestamp={NOW}"
    assert signature_compute(smuggled, "k") != signature_compute(honest, "k")
    assert signature_compute(smuggled, "k") == api_sign_request(smuggled, "k", "sha1", 2)


@pytest.mark.parametrize(
    "params",
    [
        {"public_id": "trips/2024/beach", "timestamp": str(NOW), "categorization": "aws_rek_tagging",
         "auto_tagging": "0.6", "tags": "a,b"},
        {"timestamp": str(NOW), "a1": "x", "a": "y", "a_b": "z"},  # keys that are prefixes of others
        {"timestamp": str(NOW), "context": "caption=Fish & chips|alt=ü"},
    ],
)
def test_agrees_with_the_official_sdk(params):
    assert string_to_sign(params) == api_string_to_sign(params)
    for algorithm in ("sha1", "sha256"):
        assert signature_compute(params, "secret", algorithm=algorithm) == api_sign_request(params, "secret", algorithm)


def test_a_changed_parameter_or_another_secret_is_refused():
    params = {"public_id": "dog", "timestamp": str(NOW)}
    signature = signature_compute(params, "right")
    with pytest.raises(SignatureInvalid, match="Invalid Signature .* String to sign - 'public_id=cat&timestamp="):
        signature_verify({**params, "public_id": "cat", "signature": signature}, "right", now=NOW)
    with pytest.raises(SignatureInvalid):
        signature_verify({**params, "signature": signature}, "wrong", now=NOW)


@pytest.mark.parametrize("signature", ["", "abc", "z" * 40, "é" * 40, None])
def test_malformed_signatures_are_refused(signature):
    with pytest.raises(SignatureInvalid):
        signature_verify({"public_id": "dog", "timestamp": str(NOW), "signature": signature}, "s", now=NOW)


def test_the_secret_never_appears_in_the_message():
    params = {"public_id": "dog", "timestamp": str(NOW), "signature": "0" * 40}
    with pytest.raises(SignatureInvalid) as caught:
        signature_verify(params, "the-secret", now=NOW)
    assert "the-secret" not in str(caught.value)


def test_a_signature_is_good_for_an_hour():
    params = {"public_id": "dog", "timestamp": str(NOW)}
    signed = {**params, "signature": signature_compute(params, "s")}
    signature_verify(signed, "s", now=NOW + 3600)
    with pytest.raises(TimestampInvalid, match=r"^Stale request - reported time is 2023-11-14 22:13:20 \+0000 which"):
        signature_verify(signed, "s", now=NOW + 3601)
    with pytest.raises(TimestampInvalid, match="ahead"):
        signature_verify(signed, "s", now=NOW - 3601)


@pytest.mark.parametrize("timestamp", [None, "", "yesterday", "1e9"])
def test_a_missing_or_malformed_timestamp_is_refused(timestamp):
    params = {"public_id": "dog", "timestamp": timestamp}
    with pytest.raises(TimestampInvalid):
        signature_verify({**params, "signature": signature_compute(params, "s")}, "s", now=NOW)


def test_response_signature_is_what_the_sdk_verifies():
    import cloudinary

    cloudinary.config(api_secret="s3cret")
    try:
        signature = response_signature(public_id="trips/dog", version=1700000000, secret="s3cret")
        assert verify_api_response_signature("trips/dog", 1700000000, signature)
    finally:
        cloudinary.reset_config()
