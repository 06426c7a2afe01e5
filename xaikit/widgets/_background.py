"""Background threads of the video widgets: a renderer that only draws the newest request, and
a worker that computes map chunks near the play head first.

ipykernel runs widget callbacks one message at a time on the main thread. A slider observer that
renders (30 ms) while Play sends 30 values a second builds a queue: the picture falls behind the
slider. Here the observer only records the wanted frame (:meth:`LatestOnly.submit`, microseconds)
and a thread draws the newest one, dropping the requests it never reached. Maps, which take
seconds per chunk, are computed on their own thread (:class:`ChunkWorker`), the only one that
runs the model.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("xaikit.widgets")

#: Niceness added to the map thread (Linux: per thread), so the picture and the kernel's own
#: messages get the CPU first when maps and drawing compete for it.
MAP_THREAD_NICENESS = 10


def lower_priority(niceness: int = MAP_THREAD_NICENESS) -> bool:
    """Make the calling thread (and the threads it starts, such as torch's CPU pool) yield
    the CPU to the others; ``False`` where the platform cannot (then nothing changes)."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + niceness)
    except (AttributeError, OSError, PermissionError):
        return False
    return True


class LatestOnly:
    """A thread that runs ``action(request)`` for the newest request only.

    :meth:`submit` replaces any request not yet started, so a burst of requests while ``action``
    is busy ends with one call, for the last of them.

    Args:
        action: called on the thread with each request it takes; exceptions go to ``on_error``.
        on_error: ``on_error(exception)``; default: logged.
        name: the thread's name.

    Examples:
        >>> done = []
        >>> worker = LatestOnly(done.append)
        >>> worker.submit(1); worker.wait(5.0)
        True
        >>> done
        [1]
        >>> worker.close()
    """

    def __init__(self, action: Callable, on_error: Callable | None = None, name: str = "latest"):
        self._action = action
        self._on_error = on_error or (lambda error: logger.exception("%s failed", name))
        self._cond = threading.Condition()
        self._pending = None
        self._has_pending = False
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=f"xaikit-{name}", daemon=True)
        self._thread.start()

    def submit(self, request) -> None:
        """Ask for ``request``; a request not yet started is dropped in its favour."""
        with self._cond:
            if self._closed:
                return
            self._pending, self._has_pending = request, True
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every submitted request is done (or dropped); ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._has_pending or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after the request it is running (the pending one is dropped)."""
        with self._cond:
            self._closed, self._has_pending = True, False
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._has_pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                request, self._has_pending, self._busy = self._pending, False, True
            try:
                self._action(request)
            except Exception as error:  # noqa: BLE001 - reported, the thread lives on
                self._on_error(error)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


class ChunkWorker:
    """Compute the chunks of a :class:`~xaikit.explain.FrameMaps` on one thread, nearest to the
    play head first: the chunk of :meth:`focus`'s frame, then the chunks after it to the end of
    the video, then those before it.

    The worker is the only thread that runs the model; readers call :meth:`ready` before
    reading a frame's maps and :meth:`ensure` to wait for them.

    Args:
        maps: the :class:`~xaikit.explain.FrameMaps`.
        on_ready: ``on_ready(chunk)`` on the worker thread after each chunk is stored.
        on_error: ``on_error(chunk, exception)`` on the worker thread when a chunk fails (it is
            not tried again).
        start: begin computing now; else only after the first :meth:`focus` or :meth:`ensure`.
    """

    def __init__(
        self,
        maps,
        on_ready: Callable[[int], None] | None = None,
        on_error: Callable[[int, Exception], None] | None = None,
        start: bool = True,
    ):
        self.maps = maps
        self.total = maps.chunks
        self._size = maps.batch_size
        self._on_ready = on_ready or (lambda chunk: None)
        self._on_error = on_error or (lambda chunk, error: logger.exception("map chunk failed"))
        self._cond = threading.Condition()
        self._done = {c for c in range(self.total) if maps.has(c * self._size)}
        self._failed: dict[int, Exception] = {}
        self._focus = 0
        self._running = start
        self._busy: int | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="xaikit-maps", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ state

    def chunk_of(self, frame: int) -> int:
        """The chunk holding ``frame``."""
        return int(frame) // self._size

    @property
    def done(self) -> int:
        """Chunks stored so far (computed, loaded from disk or failed)."""
        with self._cond:
            return len(self._done) + len(self._failed)

    @property
    def finished(self) -> bool:
        """Whether every chunk is stored (or failed)."""
        return self.done >= self.total

    def ready(self, frame: int) -> bool:
        """Whether the maps of ``frame`` are stored (reading them does not compute)."""
        with self._cond:
            return self.chunk_of(frame) in self._done

    def error(self, frame: int) -> Exception | None:
        """The exception raised computing the chunk of ``frame``, or ``None``."""
        with self._cond:
            return self._failed.get(self.chunk_of(frame))

    def failures(self) -> dict[int, Exception]:
        """``{chunk: exception}`` of the chunks that failed."""
        with self._cond:
            return dict(self._failed)

    # ------------------------------------------------------------------ requests

    def focus(self, frame: int) -> None:
        """Compute from the chunk of ``frame`` on (the play head moved there)."""
        with self._cond:
            self._focus, self._running = self.chunk_of(frame), True
            self._cond.notify_all()

    def ensure(self, frame: int, timeout: float | None = None) -> None:
        """Wait until the maps of ``frame`` are stored, computing its chunk next.

        Raises:
            Exception: the one its chunk raised.
            TimeoutError: not stored within ``timeout`` seconds.
            RuntimeError: the worker is closed.
        """
        chunk = self.chunk_of(frame)
        if not self.ready(frame):
            self.focus(frame)
        if not self._wait_until(lambda: chunk in self._done or chunk in self._failed, timeout):
            raise TimeoutError(f"the maps of frame {frame} were not ready within {timeout} s")
        if chunk in self._failed:
            raise self._failed[chunk]

    def wait(self, timeout: float | None = None, progress: Callable | None = None) -> bool:
        """Wait until every chunk is stored; ``progress(done, total)`` after each one.
        ``False`` on timeout."""
        with self._cond:
            self._running = True
            self._cond.notify_all()
        seen = -1

        def finished() -> bool:
            nonlocal seen
            done = len(self._done) + len(self._failed)
            if progress is not None and done != seen:
                seen = done
                progress(done, self.total)
            return done >= self.total and self._busy is None

        return self._wait_until(finished, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop after the chunk being computed (the model's pass cannot be interrupted)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # ------------------------------------------------------------------ thread

    def _wait_until(self, condition: Callable[[], bool], timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not condition():
                if self._closed:
                    raise RuntimeError("the map worker is closed")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _next(self) -> int | None:
        """The next chunk to compute: from the focus to the end, then from the start."""
        order = [*range(self._focus, self.total), *range(self._focus)]
        return next((c for c in order if c not in self._done and c not in self._failed), None)

    def _loop(self) -> None:
        lower_priority()
        while True:
            with self._cond:
                chunk = self._next() if self._running else None
                while chunk is None and not self._closed:
                    self._cond.wait()
                    chunk = self._next() if self._running else None
                if self._closed:
                    return
                self._busy = chunk
            try:
                self.maps.compute([chunk * self._size], progress=False)
            except Exception as error:  # noqa: BLE001 - reported, other chunks go on
                with self._cond:
                    self._failed[chunk] = error
                    self._busy = None
                    self._cond.notify_all()
                self._on_error(chunk, error)
                continue
            with self._cond:
                self._done.add(chunk)
                self._cond.notify_all()
            try:
                self._on_ready(chunk)
            except Exception:  # noqa: BLE001 - a display callback must not stop the maps
                logger.exception("on_ready(%d) failed", chunk)
            finally:
                with self._cond:  # wait() returns only once on_ready is done too
                    self._busy = None
                    self._cond.notify_all()
