"""The small public pages a Teams app manifest must link to: about, privacy and terms of use."""

from __future__ import annotations

from aiohttp import web

ABOUT = """MIM Sync troubleshooting bot

A Microsoft Teams bot that answers Microsoft Identity Manager 2016 Synchronization Service
problems with the recommended checks and Microsoft's documentation, and passes what it cannot
answer to your helpdesk channel.
"""
PRIVACY = """Privacy

The bot reads the messages you send to it (in a personal chat, or in a channel or group chat
only when you @mention it) to find the matching troubleshooting topic. It stores, in your
organisation's own storage: tickets you escalate (your name, Teams and Entra ids, the question,
the topic shown), your "Did this help?" answers, and the first 200 characters of questions it
could not answer, so content authors can improve it. Nothing is sent anywhere else. Your
administrators can delete this data from the storage account at any time.
"""
TERMS = """Terms of use

The bot gives general troubleshooting guidance for MIM 2016 Synchronization Service, based on
Microsoft's public documentation. Check each step against your own environment before acting
on production systems. It is operated by your organisation's identity team.
"""


def _page(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


async def about(_: web.Request) -> web.Response:
    return _page(ABOUT)


async def privacy(_: web.Request) -> web.Response:
    return _page(PRIVACY)


async def terms(_: web.Request) -> web.Response:
    return _page(TERMS)


def add_pages(app: web.Application) -> None:
    app.router.add_get("/", about)
    app.router.add_get("/privacy", privacy)
    app.router.add_get("/terms", terms)
