"""moto in server mode, handling one request at a time.

moto undoes a cancelled DynamoDB transaction by restoring copies of whole tables taken when
the transaction began; with requests handled in parallel, that restore erases what other
requests wrote meanwhile. Real DynamoDB isolates transactions; a lock around the application
gives the tests the same guarantee, while connections are still accepted in parallel.

    python scripts/moto_server.py --host 127.0.0.1 --port 5000
"""

import argparse
import os
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # The body is produced inside the lock too: moto's work may happen while it is read.
            return list(app(environ, start_response))

    run_simple(args.host, args.port, one_at_a_time, threaded=True)


if __name__ == "__main__":
    main()
