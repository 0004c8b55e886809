"""SendGrid v3 Mail Send (`POST /v3/mail/send`), with our digest ref in custom_args.

One httpx client owns the timeout; any non-2xx becomes a MailError carrying status and body.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr

import httpx

from emails.backends.base import MailError

# Headers SendGrid sets itself and rejects in the `headers` object.
RESERVED = {
    "from",
    "to",
    "subject",
    "date",
    "content-type",
    "mime-version",
    "cc",
    "bcc",
    "reply-to",
    "content-transfer-encoding",
    "x-sg-id",
    "x-sg-eid",
    "received",
    "dkim-signature",
    "message-id",
}


def payload(message: EmailMessage, ref: str) -> dict:
    name, addr = parseaddr(str(message["From"]))
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    sender = {"email": addr} | ({"name": name} if name else {})
    headers = {k: str(v) for k, v in message.items() if k.lower() not in RESERVED}
    return {
        "personalizations": [
            {
                "to": [{"email": parseaddr(str(message["To"]))[1]}],
                "custom_args": {"paperboy_ref": ref},
            }
        ],
        "from": sender,
        "subject": str(message["Subject"]),
        "content": [
            {"type": "text/plain", "value": text.get_content() if text else ""},
            {"type": "text/html", "value": html.get_content() if html else ""},
        ],
        "headers": headers,
        "custom_args": {"paperboy_ref": ref},
    }


class SendGridBackend:
    name = "sendgrid"

    def __init__(
        self, api_key: str, api_url: str, timeout: float = 20.0, client: httpx.Client | None = None
    ):
        self.client = client or httpx.Client(
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"},
        )

    def send(self, message: EmailMessage, *, ref: str) -> str:
        try:
            resp = self.client.post("/v3/mail/send", json=payload(message, ref))
        except httpx.HTTPError as e:
            raise MailError("sendgrid", f"request failed: {e}") from e
        if resp.status_code >= 300:
            raise MailError("sendgrid", "send rejected", resp.status_code, resp.text)
        return resp.headers.get("X-Message-Id") or ref
