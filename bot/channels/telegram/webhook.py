"""The webhook worker: an aiohttp server that checks Telegram's secret, then runs the update.

Each request is processed before it is answered, so a 200 means the turn is committed. A turn
that could not reach the database answers 503 and Telegram delivers the update again (to this or
another worker); the update id claimed with the turn makes every redelivery after a success a
no-op. Requests without the right secret get 403 before their body is even read.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.channels.telegram.handlers import SERVICES, retry_wanted

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram's own bound on an update's size is far below this; anything larger is not from it.
MAX_BODY = 1024 * 1024


class WebhookWorker:
    """Routes for one worker: POST /<url_path> for updates, GET /healthz for the proxy."""

    def __init__(self, application: Application, url_path: str, secret: str) -> None:  # type: ignore[type-arg]
        if not secret:
            raise ValueError("a webhook worker needs a secret token")
        self.application = application
        self.url_path = "/" + url_path.strip("/")
        self._secret = secret.encode()

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.url_path, self.receive)
        app.router.add_get("/healthz", self.health)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        """One update from Telegram (or the proxy in front of this worker)."""
        try:
            given = request.headers.get(SECRET_HEADER, "").encode()
        except UnicodeEncodeError:  # a byte that is not UTF-8 in the header: not our secret (issue 14)
            given = b""
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook.forbidden")
            return web.Response(status=403)
        try:
            payload = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            update = Update.de_json(payload, self.application.bot)
        except Exception:  # a malformed update is not worth a redelivery: drop it, say so
            log.warning("webhook.unparsable", extra={"update_id": payload.get("update_id")})
            return web.Response(status=200)
        token = retry_wanted.set(False)
        try:
            await self.application.process_update(update)
            if retry_wanted.get():
                return web.Response(status=503, text="try again")
        finally:
            retry_wanted.reset(token)
        return web.Response(status=200)

    async def health(self, _request: web.Request) -> web.Response:
        """200 while the database answers, 503 otherwise: the proxy takes the worker out."""
        services = self.application.bot_data.get(SERVICES)
        healthy = services is not None and await services.database.ping()
        body = {"database": "ok" if healthy else "unreachable"}
        return web.json_response(body, status=200 if healthy else 503)
