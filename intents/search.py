"""The message extension's search: the same matcher, returning answers to insert into a chat."""

from __future__ import annotations

from intents.knowledge import Knowledge
from intents.language import choose_language
from intents.matcher import match
from intents.replies import Answer, clip_question

MAX_RESULTS = 8


def search_answers(kb: Knowledge, text: str, locale: str | None) -> list[Answer]:
    """Best first: the matched topic (with its code), then the other candidates, then the rest.

    An empty query lists every topic, so the command is useful before anything is typed.
    """
    lang = choose_language(text, locale, kb.lang_hints)
    question = clip_question(text)
    found = match(kb.index, text) if text.strip() else None
    ordered: list[str] = []
    if found is not None:
        if found.intent:
            ordered.append(found.intent)
        ordered += [c.intent for c in found.candidates if c.score > 0]
    ordered += [t.id for t in kb.catalog.topics]
    answers = []
    for topic_id in dict.fromkeys(ordered):
        topic = kb.catalog.topic(topic_id)
        if topic is None:
            continue
        code = None
        if found is not None and found.intent == topic_id and found.entity:
            code = kb.catalog.codes.get(found.entity)
        matched = found.matched if found is not None and found.intent == topic_id else ()
        answers.append(Answer(topic, lang, question, code=code, matched=matched))
    if found is not None and found.outcome != "fallback":
        # Only the plausible ones once something was recognised.
        plausible = {c.intent for c in found.candidates} | {found.intent}
        answers = [a for a in answers if a.topic.id in plausible] or answers
    return answers[:MAX_RESULTS]
