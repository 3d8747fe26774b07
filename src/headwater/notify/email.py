"""E-mail through an SMTP server with the standard library's `smtplib`.

SMTP replies 4xx are temporary (tried again), 5xx permanent; a refused connection, a
dropped one or a server that never answers (the timeout, at most 10 s) are temporary. The
Message-ID is derived from the dedupe key, so a receiver can recognise a repeated delivery.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage

from headwater.config import SmtpSettings
from headwater.notify.messages import DeliveryError, Message


class SmtpTransport:
    """Sends one message to a list of addresses through one SMTP server."""

    def __init__(self, settings: SmtpSettings, env: Mapping[str, str]) -> None:
        self.settings, self.env = settings, env

    def send(self, key: str, message: Message, addresses: Sequence[str]) -> None:
        """Deliver `message` to `addresses`; `DeliveryError` when it was not accepted."""
        mail = self.build(key, message, addresses)
        try:
            with self._connect() as client:
                self._login(client)
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryError(f"SMTP refused the recipients: {error.recipients}",
                                retryable=all(400 <= c < 500 for c in codes)) from error
        except smtplib.SMTPResponseException as error:
            text = error.smtp_error.decode(errors="replace") if isinstance(
                error.smtp_error, bytes) else str(error.smtp_error)
            raise DeliveryError(f"SMTP {error.smtp_code}: {text}",
                                retryable=400 <= error.smtp_code < 500) from error
        except (smtplib.SMTPException, OSError) as error:
            where = f"{self.settings.host}:{self.settings.port}"
            raise DeliveryError(f"SMTP server {where}: {type(error).__name__}: {error}",
                                retryable=True) from error

    def build(self, key: str, message: Message, addresses: Sequence[str]) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(addresses)
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        mail["Message-ID"] = f"<{digest}@headwater>"
        mail["X-Headwater-Dedupe-Key"] = key
        mail.set_content(message.text)
        return mail

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds,
                                    context=ssl.create_default_context())
        client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        if s.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def _login(self, client: smtplib.SMTP) -> None:
        s = self.settings
        if s.username is None:
            return
        password = self.env.get(s.password_env or "", "")
        if s.password_env and not password:
            raise DeliveryError(f"the variable {s.password_env} (smtp.password_env) is not set",
                                retryable=False)
        client.login(s.username, password)
