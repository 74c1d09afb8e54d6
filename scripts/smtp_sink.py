#!/usr/bin/env python3
"""An SMTP server for Alerta's tests that keeps every message it accepts.

Each accepted message becomes two files in the spool directory, both moved into place before
the server answers 250, so a client that got its 250 finds them:

    <name>.json  what the test asserts on: the envelope, whether TLS and AUTH were used,
                 the headers (decoded) and the text of each MIME part;
    <name>.eml   the bytes as received.

Names sort in the order the messages arrived.

Recipients whose local part starts with `tempfail` are answered 451, with `permfail` 550.
With --tls-cert/--tls-key STARTTLS is offered and required; with --implicit-tls the same
certificate is used from the first byte instead. With --auth USER:PASS, AUTH (PLAIN, LOGIN)
is required and checked.

Prints `READY <host>:<port>` on stdout once it accepts connections, and stops when its stdin
closes, so that it never outlives the test that started it.
"""

import argparse
import email
import email.policy
import json
import logging
import os
import ssl
import sys
import time
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Spool:
    """The aiosmtpd handler: refuses the recipients it is told to, writes the rest."""

    def __init__(self, directory):
        self.directory = directory

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("tempfail"):
            return "451 4.3.0 Temporary failure, try again later"
        if local.startswith("permfail"):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            # session.ssl is only set by STARTTLS; implicit TLS shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            # Which connection carried it: the client's address and port.
            "peer": list(session.peer),
            "login": login_of(session.auth_data),
            "content_type": message.get_content_type(),
            "headers": [[name, str(value)] for name, value in message.items()],
            "parts": [
                {"content_type": part.get_content_type(), "content": part.get_content()}
                for part in message.walk()
                if not part.is_multipart()
            ],
        }
        # Nanoseconds first, so names sort in arrival order across restarts on one spool.
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex}"
        # The .eml goes last: a test that counts .eml files finds each .json beside it.
        self.put(name + ".json", json.dumps(record, indent=2).encode())
        self.put(name + ".eml", raw)
        return "250 2.0.0 Message accepted for delivery"

    def put(self, name, data):
        temporary = os.path.join(self.directory, "." + name + ".tmp")
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, os.path.join(self.directory, name))


def login_of(auth_data):
    if isinstance(auth_data, LoginPassword):
        return auth_data.login.decode()
    return None


def authenticator_for(credentials):
    user, password = credentials.split(":", 1)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        # handled=False: aiosmtpd then answers 235 or 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    return authenticate


def main():
    # aiosmtpd itself sets the attribute it deprecates, and logs so on every AUTH.
    logging.getLogger("mail.log").addFilter(
        lambda record: "login_data is deprecated" not in record.getMessage()
    )
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spool", required=True, help="directory for accepted messages")
    parser.add_argument("--tls-cert", help="PEM certificate; STARTTLS becomes required")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument(
        "--implicit-tls", action="store_true", help="TLS from the first byte, not STARTTLS"
    )
    parser.add_argument("--auth", metavar="USER:PASS", help="require AUTH with these")
    args = parser.parse_args()

    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.implicit_tls and not args.tls_cert:
        parser.error("--implicit-tls needs --tls-cert and --tls-key")
    os.makedirs(args.spool, exist_ok=True)

    smtp_options = {}
    implicit = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.implicit_tls:
            implicit = context
        else:
            smtp_options.update(tls_context=context, require_starttls=True)
    if args.auth:
        smtp_options.update(
            authenticator=authenticator_for(args.auth),
            auth_required=True,
            auth_require_tls=True,
        )

    controller = Controller(
        Spool(args.spool),
        hostname=args.host,
        port=args.port,
        ssl_context=implicit,
        server_hostname="sink.alerta.test",
        **smtp_options,
    )
    controller.start()
    try:
        print(f"READY {args.host}:{args.port}", flush=True)
        sys.stdin.buffer.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
