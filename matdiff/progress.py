"""What the command line says on standard error while a long derivation, check or
rendering runs: nothing for the first second, then one line.

On a terminal the line is rewritten in place each second (``matdiff: deriving the
Hessian… 3 s``) and erased when the work ends, so the answer prints on a clean
line; into a pipe or a file it is written once, as a plain line, and never
updated.  Standard output is never touched."""
from __future__ import annotations

import threading
import time
from typing import TextIO

DELAY = 1.0  # seconds of silence before the first word
INTERVAL = 1.0  # seconds between updates on a terminal


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """A background timer that names the current phase on ``stream`` once it has run past ``delay``.

    ``phase(label)`` starts (or renames) the phase; ``stop()`` ends it and erases
    the terminal line.  Both are cheap when nothing has been shown."""

    def __init__(self, stream: TextIO, delay: float = DELAY, interval: float = INTERVAL) -> None:
        self.stream = stream
        self.delay = delay
        self.interval = interval
        self.tty = _is_tty(stream)
        self._label = ""
        self._since = 0.0
        self._shown = 0  # width of the terminal line written, to erase it
        self._said = False  # the plain line of this phase is written
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def phase(self, label: str) -> None:
        """From now on the work is ``label`` (e.g. "deriving the Hessian"); the clock restarts."""
        with self._lock:
            self._label = label
            self._since = time.monotonic()
            self._said = False
        if self._thread is None:
            self._wake.clear()
            self._thread = threading.Thread(target=self._run, name="matdiff-progress", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """End the phase: no more output, and the terminal line (if any) erased."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._wake.set()
        thread.join()
        with self._lock:
            self._erase()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the timer thread ---------------------------------------------------------------
    def _run(self) -> None:
        wait = self.delay
        while not self._wake.wait(wait):
            with self._lock:
                if self._wake.is_set():
                    return
                elapsed = time.monotonic() - self._since
                if elapsed < self.delay:
                    wait = self.delay - elapsed
                    continue
                self._show(elapsed)
                wait = self.interval

    def _show(self, elapsed: float) -> None:
        try:
            if self.tty:
                text = f"matdiff: {self._label}… {elapsed:.0f} s"
                self.stream.write("\r" + text + " " * max(0, self._shown - len(text)))
                self._shown = len(text)
            elif not self._said:
                self.stream.write(f"matdiff: {self._label}…\n")
            self._said = True
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed: say nothing more
            self._wake.set()

    def _erase(self) -> None:
        if self.tty and self._shown:
            try:
                self.stream.write("\r" + " " * self._shown + "\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._shown = 0


def derivation_label(order: int, then: int = 0, several: bool = False) -> str:
    """What is being derived, in words, for the progress line."""
    if then:
        return "deriving the mixed derivative"
    if order == 2:
        return "deriving the Hessians" if several else "deriving the Hessian"
    if order > 2:
        return f"deriving the derivative of order {order}"
    return "deriving"
