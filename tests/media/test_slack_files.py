"""Slack message files as attachments, and where the bot token may be sent."""

from typing import Any

import pytest
from django.test import override_settings

from gateway.adapters.slack import inbound_from_event
from gateway.adapters.slack_files import attachments_of, may_carry_token
from gateway.messages import Attachment
from tests.fakes.slack_server import dm_event

PHOTO = {
    "id": "F1",
    "name": "IMG_0042.jpg",
    "mimetype": "image/jpeg",
    "filetype": "jpg",
    "size": 2048,
    "url_private": "https://files.slack.com/files-pri/T1-F1/img_0042.jpg",
    "url_private_download": "https://files.slack.com/files-pri/T1-F1/download/img_0042.jpg",
}


def test_a_shared_file_becomes_an_attachment_and_the_text_is_kept() -> None:
    event = {**dm_event("what is this?"), "subtype": "file_share", "files": [PHOTO]}
    message = inbound_from_event("default", event, "UBOT")
    assert message is not None and message.text == "what is this?" and not message.unsupported
    assert message.attachments == (
        Attachment(str(PHOTO["url_private_download"]), "IMG_0042.jpg", "image/jpeg", 2048, "jpg"),
    )


def test_a_file_alone_is_taken_without_text() -> None:
    event = {**dm_event(""), "subtype": "file_share", "files": [PHOTO]}
    message = inbound_from_event("default", event, "UBOT")
    assert message is not None and message.text == "" and len(message.attachments) == 1


@pytest.mark.parametrize(
    "item",
    [
        {**PHOTO, "mode": "external"},  # a link to another service: nothing to download
        {**PHOTO, "mode": "tombstone"},
        {"id": "F2"},  # no URL
        {**PHOTO, "url_private_download": None, "url_private": "javascript:alert(1)"},
        "F3",
    ],
)
def test_files_that_cannot_be_downloaded_are_not_attachments(item: Any) -> None:
    assert attachments_of({"files": [item]}) == ()


@override_settings(SLACK_API_URL="https://slack.com/api/")
@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://files.slack.com/files-pri/T1-F1/a.jpg", True),
        ("https://slack.com/files/a", True),
        ("http://files.slack.com/files-pri/T1-F1/a.jpg", False),  # never in the clear
        ("https://files.slack.com.evil.example/a.jpg", False),
        ("https://evil.example/slack.com/a.jpg", False),
        ("https://notslack.com/a.jpg", False),
    ],
)
def test_the_bot_token_goes_only_to_slack(url: str, ok: bool) -> None:
    assert may_carry_token(url) is ok
