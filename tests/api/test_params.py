"""medialib.api.params: whatever the parameters, the answer is the services' arguments or an ApiError/AddonError."""
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import strategies as st

from medialib.api import params
from medialib.api.responses import ApiError
from tagging.addons import AddonError
from tests.fuzz import FUZZ, text

NAMES = ["file", "public_id", "tags", "filename_override", "categorization", "detection", "auto_tagging", "type",
         "folder", "api_key", "timestamp", "signature", "eager", "eager_async", "use_filename", "unique_filename",
         "public_id_prefix", "asset_folder", "use_asset_folder_as_public_id_prefix", "context", "overwrite",
         "allowed_formats", "faces", "exif", "discard_original_filename"]
values = st.one_of(text, st.lists(text, max_size=3), st.sampled_from(
    ["aws_rek_tagging", "aws_rek_face", "aws_rek_tagging,aws_rek_face", "0.5", "data:image/png;base64,iVBO",
     "data:;base64,", "https://example.com/x.jpg", "upload", "c_fill,w_100/jpg|w_2/", "true", "t_x", "w_1/bmp"]))
fields = st.dictionaries(st.one_of(st.sampled_from(NAMES), text), values, max_size=6)
headers = st.fixed_dictionaries({}, optional={"Content-Range": st.one_of(text, st.sampled_from(
    ["bytes 0-9/10", "bytes 0-9/20", "bytes 10-19/20", "bytes 0-" + "9" * 30 + "/1"]))})


@FUZZ
@given(fields=fields, with_file=st.booleans(), headers=headers)
def test_upload_arguments_are_arguments_or_a_refusal(fields, with_file, headers):
    files = {"file": SimpleUploadedFile("x.jpg", b"x")} if with_file else {}
    try:
        arguments = params.upload_arguments(fields, files, headers)
    except (ApiError, AddonError) as exc:
        assert str(exc)
        return
    assert set(arguments) == {"file", "public_id", "tags", "original_filename", "addons", "auto_tagging", "eager",
                              "eager_async", "overwrite", "context", "asset_folder", "allowed_formats", "faces", "async_",
                              "notification_url", "eager_notification_url"}


@FUZZ
@given(fields=fields)
def test_explicit_arguments_are_arguments_or_a_refusal(fields):
    try:
        arguments = params.explicit_arguments(fields)
    except (ApiError, AddonError) as exc:
        assert str(exc)
        return
    assert arguments["public_id"]
