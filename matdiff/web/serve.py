"""``matdiff serve [--port N] [--host H] [--open]``: the local web page.

Importable without the ``web`` extra, so that ``matdiff serve`` can say what
to install instead of failing with a traceback."""
from __future__ import annotations

import argparse
import sys
import threading
import webbrowser

DEFAULT_PORT = 8765
MISSING = 'matdiff: error: matdiff serve needs the web extra: pip install "matdiff[web]" ({})'


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # bad flags: one line, exit 2, as for every bad input
        print(f"matdiff serve: usage error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="matdiff serve", description="Serve matdiff's web page on this machine.")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--open", action="store_true", help="open the page in the web browser")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds a derivation may take (default 10)")
    p.add_argument("--workers", type=int, default=2, help="derivations run at once (default 2)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the server until Ctrl+C; the exit status of the command."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if not 0 <= args.port <= 65535:
        print(f"matdiff serve: usage error: no port {args.port}", file=sys.stderr)
        return 2
    if args.timeout <= 0 or args.workers < 1:
        print("matdiff serve: usage error: --timeout and --workers must be positive", file=sys.stderr)
        return 2
    try:
        import uvicorn

        from .app import LOCAL_HOSTS, create_app
        from .pool import WorkerPool
    except ImportError as e:
        print(MISSING.format(e), file=sys.stderr)
        return 2
    local = args.host in ("127.0.0.1", "localhost", "::1")
    if not local:
        print(f"matdiff serve: warning: listening on {args.host}: other machines can reach the page", file=sys.stderr)
    app = create_app(WorkerPool(size=args.workers, timeout=args.timeout), hosts=LOCAL_HOSTS if local else None)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            threading.Event().wait(0.05)
        port = server.servers[0].sockets[0].getsockname()[1] if server.servers else args.port
        host = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{host}:{port}/"
        print(f"matdiff: serving the page on {url} (Ctrl+C to stop)", file=sys.stderr, flush=True)
        if args.open:
            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    except SystemExit:  # uvicorn could not listen (the port is taken) and has said why
        return 2
    except OSError as e:  # the host is not one of this machine's
        print(f"matdiff serve: error: {e}", file=sys.stderr)
        return 2
    return 0 if server.started else 2
