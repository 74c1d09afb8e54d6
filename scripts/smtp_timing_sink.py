#!/usr/bin/env python3
"""An SMTP server that tells when it accepted each message, for the mail load example.

For every message it prints one line on stdout, just before it answers 250:

    ACCEPT <unix microseconds> <Subject>

and keeps nothing else, so that it costs as little as an SMTP server can. Prints
`READY <host>:<port>` once it accepts connections and stops when its stdin closes.
"""

import argparse
import email.parser
import logging
import sys
import time

from aiosmtpd.controller import Controller


class Timing:
    """The aiosmtpd handler: accepts everything and reports when."""

    def __init__(self):
        self.parser = email.parser.BytesHeaderParser()

    async def handle_DATA(self, server, session, envelope):
        headers = self.parser.parsebytes(envelope.original_content or envelope.content)
        subject = " ".join(str(headers.get("Subject", "")).split())
        sys.stdout.write(f"ACCEPT {time.time_ns() // 1000} {subject}\n")
        sys.stdout.flush()
        return "250 2.0.0 Message accepted for delivery"


def main():
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--host", default="127.0.0.1")
    arguments.add_argument("--port", type=int, required=True)
    options = arguments.parse_args()
    logging.basicConfig(level=logging.WARNING)
    controller = Controller(
        Timing(), hostname=options.host, port=options.port, decode_data=False
    )
    controller.start()
    print(f"READY {options.host}:{options.port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
