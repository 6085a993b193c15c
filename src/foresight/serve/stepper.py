"""The process behind ``foresight serve``: a platform stepped in a background thread, read by the API.

One lock guards the platform and the audit log (neither is thread-safe): the stepping thread holds
it for one step at a time, the API's readers between steps, so a reader never sees half a period.
The lock alone is not fair (a thread that releases it takes it back before a woken waiter runs), so
readers announce themselves (:meth:`Stepper.turn`) and the stepping threads let them in between two
steps (:meth:`Stepper.let_readers_in`): a request waits one step at most, not a whole warm-up.
Pacing: a simulated platform is stepped so that ``speed`` simulated seconds pass per wall second;
a live one as soon as its controllers say something is due (``idle_s`` between checks).

:meth:`Stepper.stop` is the graceful shutdown: the thread finishes the step it is in (a reconcile
is never cut in half), then the audit log is flushed and closed. A step that fails because a service
is down (:class:`~foresight.errors.ServiceUnavailable`: the audit store past what it buffers) is
tried again, backing off up to 30 s, and the error shows on ``/readyz`` until a step succeeds; the
audit log's buffered records are retried between steps. Any other failure is a bug: stepping stops. Pausing a controller (a person
acting through the API) skips it until it is resumed; both are audited.

With leader election the runtime steps on every replica (views stay live); the platform asks
``gate`` before each action, so only the replica holding the Lease acts. The gate's thread starts
with the runtime and releases the Lease after the last step on :meth:`Stepper.stop`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from foresight.adapters.audit_log import AuditLog
from foresight.control.audit import AuditRecord
from foresight.errors import InputError, ServiceUnavailable
from foresight.serve.leader import ALWAYS, ActingGate
from foresight.serve.platform import Platform

__all__ = ["Stepper", "UnknownController"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


class UnknownController(InputError):
    """A pause/resume named a controller this process does not run."""


class Stepper:
    """Steps ``platform`` in a thread; ``sim_speed`` simulated s per wall s (None: a live platform)."""

    def __init__(self, platform: Platform, audit: AuditLog, *, sim_speed: float | None = None,
                 step_sim_s: float = 15.0, idle_s: float = 1.0, gate: ActingGate = ALWAYS,
                 max_retry_s: float = 30.0) -> None:
        self.platform, self.audit, self.gate = platform, audit, gate
        self.sim_speed, self.step_sim_s, self.idle_s = sim_speed, step_sim_s, idle_s
        self.max_retry_s = max_retry_s  # the longest wait between two tries of a step that failed
        self.lock = threading.RLock()
        self._waiting = 0  # readers and a person's actions waiting for the lock (see turn)
        self._waiting_lock = threading.Lock()
        self.paused: set[str] = set()
        self.version = 0  # bumped after every step: what the event stream watches
        self.started = False
        self.finished = False
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_id = uuid.uuid4().hex

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start stepping in a daemon thread (idempotent)."""
        if self._thread is not None:
            return
        start_gate = getattr(self.gate, "start", None)
        if callable(start_gate):  # leader election: read the Lease before the first step
            start_gate()
        self._thread = threading.Thread(target=self._loop, name="foresight-runtime", daemon=True)
        self._thread.start()
        self.started = True

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the current step, release the Lease (if held), then flush and close the audit log."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                _log.error("runtime: the step in progress did not finish within %.0f s", timeout_s)
        stop_gate = getattr(self.gate, "stop", None)
        if callable(stop_gate) and self.started:
            stop_gate()
        with self.lock:
            self.platform.close()
            self.audit.close()
        _log.info("runtime stopped; audit log flushed")

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _loop(self) -> None:
        wall0, sim0 = time.monotonic(), self.platform.now()
        failures = 0
        while not self._stop.is_set():
            try:
                self.let_readers_in()
                with self.lock:
                    stepped = self.platform.step(frozenset(self.paused))
                    self.version += 1
                    self.audit.retry()  # records a failed write kept, written once the store answers
            except ServiceUnavailable as exc:  # a service the step needs is down: say why, try again later
                failures += 1
                wait_s = min(self.max_retry_s, self.idle_s * 2.0 ** (failures - 1))
                if self.error is None:
                    _log.warning("runtime: a step failed (%s); retrying every %.3g s at most", exc, self.max_retry_s)
                self.error = f"{type(exc).__name__}: {exc}"
                self._stop.wait(wait_s)
                continue
            except Exception as exc:  # a bug: stop stepping, keep serving, say why
                _log.exception("runtime: stepping failed; controllers stopped")
                self.error = f"{type(exc).__name__}: {exc}"
                return
            if failures:
                _log.info("runtime: stepping again after %d failed step(s)", failures)
                failures, self.error = 0, None
            if not stepped:
                if self.sim_speed is not None:
                    self.finished = True
                    _log.info("runtime: the simulation reached its end")
                    return
                self._stop.wait(self.idle_s)
                continue
            if self.sim_speed is not None:
                ahead_s = (self.platform.now() - sim0) / self.sim_speed - (time.monotonic() - wall0)
                if ahead_s > 0:
                    self._stop.wait(ahead_s)
                elif ahead_s < -5.0:  # fell behind (a slow step): do not burst to catch up
                    wall0, sim0 = time.monotonic(), self.platform.now()

    # -- taking turns with the stepping threads -----------------------------------------------------

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the lock for a reader or a person's action, counted as waiting until it has it."""
        with self._waiting_lock:
            self._waiting += 1
        try:
            self.lock.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        try:
            yield
        finally:
            self.lock.release()

    def let_readers_in(self, patience_s: float = 1.0) -> None:
        """Called between two steps, without the lock: wait (``patience_s`` at most, so a stream of
        readers cannot stall the controllers) until those waiting for the lock have taken it."""
        deadline = time.monotonic() + patience_s
        while self._waiting and time.monotonic() < deadline:
            time.sleep(0.001)  # releases the GIL: a woken reader takes the lock

    # -- reads and a person's actions ---------------------------------------------------------------

    def read(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` between two steps (it may read the platform and the audit log)."""
        with self.turn():
            return fn()

    def set_paused(self, controller: str, paused: bool, who: str = "api") -> AuditRecord:
        """Pause or resume ``controller``; audited. Raises :class:`UnknownController`."""
        with self.turn():
            if controller not in self.platform.controllers:
                raise UnknownController(
                    f"no controller {controller!r}; this process runs {sorted(self.platform.controllers)}")
            was = controller in self.paused
            (self.paused.add if paused else self.paused.discard)(controller)
            verb = "paused" if paused else "resumed"
            record = AuditRecord(self.platform.now(), self._run_id, "operator", controller, {},
                                 {}, f"{verb} by {who}" + ("" if was != paused else " (no change)"), was != paused,
                                 False)
            self.audit.record(record)
            self._flush()
            self.version += 1
            return record

    def act(self, fn: Callable[[], AuditRecord]) -> AuditRecord:
        """A person's action ``fn`` (it audits itself) between two steps; flushed, and the views redraw."""
        with self.turn():
            record = fn()
            self._flush()
            self.version += 1
            return record

    def approve(self, release_id: str, who: str = "api") -> AuditRecord:
        with self.turn():
            record = self.platform.approve(release_id, who)
            self._flush()
            self.version += 1
            return record

    def _flush(self) -> None:
        """A person's action written at once where the store answers; else its record stays buffered
        (the action was taken) and the loop's retries write it."""
        try:
            self.audit.flush()
        except ServiceUnavailable as exc:
            _log.warning("runtime: %s; the record is kept and written when the store answers", exc)
