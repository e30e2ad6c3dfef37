"""``banjia serve`` with another HTTP client behind the transport (:mod:`bench.transports`):
``python -m bench.alt NAME serve --config FILE --port N --workers 1``. One worker only (the app
runs in this process, where the transport class is swapped before the runtime is built)."""

from __future__ import annotations

import sys


def main() -> int:
    if len(sys.argv) < 3:
        raise SystemExit("usage: python -m bench.alt TRANSPORT serve [banjia serve options]")
    import banjia.runtime
    from banjia.cli import main as banjia_main
    from bench.transports import transport_class

    banjia.runtime.Transport = transport_class(sys.argv[1])  # type: ignore[misc]
    rc: int = banjia_main(sys.argv[2:])
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
