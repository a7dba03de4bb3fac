"""The start-up patches change speed, not results."""

from __future__ import annotations

import datetime
import json
from typing import Any

from botbuilder.core import CardFactory, MessageFactory
from msrest.serialization import Serializer

from bot.patches import apply_serializer_patch
from intents.cards import build_card
from intents.load import load_knowledge
from intents.replies import respond_to_text


def test_plain_cards_serialize_exactly_as_json() -> None:
    apply_serializer_patch()
    kb = load_knowledge()
    for text in ("6025", "zzzz", "stopped-connectivity", "help"):
        card = build_card(respond_to_text(kb, text, None), kb.catalog)
        copy = Serializer().serialize_object(card)
        assert copy == json.loads(json.dumps(card))
        assert copy is not card  # a copy: later changes to the card cannot leak into it
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card)).serialize()
        assert activity["attachments"][0]["content"] == card


def test_anything_else_still_goes_through_msrest() -> None:
    apply_serializer_patch()
    when = datetime.datetime(2026, 11, 26, 8, 15, tzinfo=datetime.UTC)
    out = Serializer().serialize_object({"at": when, "n": 1, 2: "int key"})
    assert out == {"at": "2026-11-26T08:15:00.000Z", "n": 1, "2": "int key"}


def test_retry_policy_is_built_as_before() -> None:
    from msrest.universal_http.requests import ClientRetryPolicy

    from bot.patches import apply_msrest_patch

    apply_msrest_patch()
    policy = ClientRetryPolicy().policy
    expected = [i for i in range(999) if not (i < 500 and i != 408) and i not in (501, 505)]
    assert policy.status_forcelist == expected
    assert (policy.total, policy.connect, policy.read, policy.backoff_factor) == (3, 3, 3, 0.8)
    assert "POST" in policy.method_whitelist
    assert ClientRetryPolicy().policy.status_forcelist is not policy.status_forcelist


def test_sending_copies_the_activity_but_shares_the_card() -> None:
    from botbuilder.core import turn_context

    from bot.sending import card_message

    card = {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "x"}]}
    activity = card_message(card)
    copied = turn_context.deepcopy(activity)  # what the SDK does to every outgoing activity
    assert copied is not activity
    assert copied.attachments is not activity.attachments
    assert copied.attachments[0].content is activity.attachments[0].content
    copied.text = "changed"
    assert activity.text != "changed"


def test_a_sent_card_is_its_own_serialization() -> None:
    from bot.sending import SentCard, card_message

    apply_serializer_patch()
    kb = load_knowledge()
    card = build_card(respond_to_text(kb, "6025", None), kb.catalog)
    activity = card_message(card)
    content = activity.attachments[0].content
    assert type(content) is SentCard
    body = activity.serialize()
    assert body["attachments"][0]["content"] is content
    assert json.loads(json.dumps(body))["attachments"][0]["content"] == card


def test_a_sent_attachment_serializes_as_msrest_would() -> None:
    from botbuilder.schema import Activity, Attachment, ExpectedReplies

    from bot.sending import SentAttachment, card_message

    apply_serializer_patch()
    kb = load_knowledge()
    card = build_card(respond_to_text(kb, "stopped-server", None), kb.catalog)
    sent = card_message(card)
    assert type(sent.attachments[0]) is SentAttachment
    plain = Activity(
        type=sent.type,
        attachment_layout=sent.attachment_layout,
        input_hint=sent.input_hint,
        attachments=[Attachment(content_type=sent.attachments[0].content_type, content=card)],
    )
    for shape in (lambda a: a.serialize(), lambda a: a.as_dict()):  # REST and Python names
        assert json.dumps(shape(sent)) == json.dumps(shape(plain))  # same keys, same order
    expected = ExpectedReplies(activities=[plain]).serialize()
    assert ExpectedReplies(activities=[sent]).serialize() == expected
    # Anything card_message does not make takes msrest's own way, with the same result.
    sent.attachments[0].name = "card.json"
    plain.attachments[0].name = "card.json"
    assert sent.attachments[0].wire() is None
    assert sent.serialize() == plain.serialize()


def test_a_deep_copy_of_a_sent_attachment_shares_only_what_cannot_change() -> None:
    from botbuilder.core import turn_context

    from bot.sending import SentAttachment

    attachment = card_message_attachment()
    attachment.additional_properties["note"] = ["mutable"]
    copied = turn_context.deepcopy(attachment)
    assert type(copied) is SentAttachment
    assert copied is not attachment
    assert copied.content is attachment.content  # the finished card
    assert copied.additional_properties == {"note": ["mutable"]}
    assert copied.additional_properties is not attachment.additional_properties
    assert copied.additional_properties["note"] is not attachment.additional_properties["note"]
    attachment.content = {"not": ["a sent card"]}  # anyone may put other content in it
    other = turn_context.deepcopy(attachment)
    assert other.content == attachment.content
    assert other.content is not attachment.content
    assert other.content["not"] is not attachment.content["not"]


def card_message_attachment() -> Any:
    from bot.sending import card_message

    return card_message({"type": "AdaptiveCard", "body": []}).attachments[0]


def test_request_bodies_are_the_same_json_in_utf8_bytes() -> None:
    from msrest.universal_http import ClientRequest

    from bot.patches import apply_request_body_patch

    apply_request_body_patch()
    request = ClientRequest("POST", "http://127.0.0.1:9/v3/conversations/c/activities/a")
    body = {"type": "message", "text": "Passordet blir ikke synkronisert på DC-en, hendelse 6025"}
    request.add_content(body)
    assert isinstance(request.data, bytes)
    assert json.loads(request.data) == body
    assert request.headers["Content-Length"] == str(len(request.data))  # bytes, not characters
    # What orjson refuses goes msrest's way: the standard library's text.
    odd = ClientRequest("POST", "http://127.0.0.1:9/")
    odd.add_content({"big": 2**70})
    assert odd.data == json.dumps({"big": 2**70})
