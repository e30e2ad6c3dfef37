"""banjia with the store switched off: the same app and server settings as ``banjia serve``, but
only the master key and in-memory accounting (no SQLite, no ledger writer). The difference to the
ordinary 1-worker run is what the store and its ledger cost per request.

``python -m bench.nostore --config FILE --port N``
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any


def main() -> None:
    import uvicorn

    from banjia.config import load_config
    from banjia.context import NullAccounting
    from banjia.server.app import create_app
    from banjia.server.auth import MasterKeyAuth

    parser = argparse.ArgumentParser(prog="python -m bench.nostore")
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = load_config(args.config)
    key = config.server.master_key
    if not key:
        raise SystemExit("the bench config sets server.master_key")
    app = create_app(config, auth=MasterKeyAuth(key), accounting=NullAccounting())
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False,
                loop="uvloop", http=_http_protocol(), timeout_keep_alive=30)


def _http_protocol() -> Any:
    """The HTTP protocol ``banjia serve`` uses: banjia's own uvicorn protocol when the code
    measured has one, else uvicorn's httptools protocol."""
    http = importlib.import_module("banjia.server.http")
    return getattr(http, "CoalescingHttpProtocol", "httptools")


if __name__ == "__main__":
    main()
