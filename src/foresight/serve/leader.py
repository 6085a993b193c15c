"""Whether this ``foresight serve`` replica may act now: the Lease, held or not.

Two replicas run behind one Service; both serve the API, the dashboard and the read-only views,
but only one may act on the platform (set replicas, send alerts, export desired replicas for an
HPA). :class:`LeaderGate` steps a :class:`~foresight.adapters.kubernetes.LeaderElector` in its own
thread every ``retry_period_s`` (so a slow reconcile never delays a renewal) and answers
:meth:`LeaderGate.acting` from the elector's renew deadline: a leader that cannot renew stops
acting before any other replica may take over. :meth:`LeaderGate.stop` releases the Lease, so a
standby takes over at once on a clean shutdown.

Without leader election (one replica, or the simulator) the gate always acts: :data:`ALWAYS`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from foresight.errors import ForesightError

__all__ = ["ALWAYS", "ActingGate", "LeaderGate", "Role"]

_log = logging.getLogger(__name__)

Role = Literal["single", "leader", "standby"]


class ActingGate(Protocol):
    """What the controllers ask before each action."""

    def acting(self) -> bool: ...

    @property
    def role(self) -> Role: ...


@dataclass(frozen=True)
class _Always:
    """No leader election: this process is the only one and always acts."""

    role: Role = "single"

    def acting(self) -> bool:
        return True


#: The gate of a process without leader election.
ALWAYS: ActingGate = _Always()


class _Elector(Protocol):
    identity: str
    last: Any

    def step(self) -> bool: ...

    def is_leader(self) -> bool: ...

    def release(self) -> None: ...


class LeaderGate:
    """Steps ``elector`` every ``retry_period_s`` in a daemon thread (module docstring)."""

    def __init__(self, elector: _Elector, lease: str, retry_period_s: float = 2.0) -> None:
        self.elector, self.lease, self.retry_period_s = elector, lease, retry_period_s
        self.error: str | None = None  # the last failure to read or write the Lease
        self.transitions = 0  # how often this replica became leader
        self._was_leader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def identity(self) -> str:
        return self.elector.identity

    def acting(self) -> bool:
        """Whether this replica may act now."""
        return self.elector.is_leader()

    @property
    def role(self) -> Role:
        return "leader" if self.acting() else "standby"

    def note(self) -> str | None:
        """Why this replica leads or waits, as of the last step ("b holds the Lease for 9.5s more")."""
        last = self.elector.last
        return None if last is None else str(last.reason)

    def step(self) -> bool:
        """One read/renew of the Lease; failures are kept in ``error``, never raised."""
        try:
            leading = self.elector.step()
            self.error = None
        except ForesightError as exc:  # unreachable API, RBAC: keep trying; is_leader() runs out by itself
            self.error = str(exc)
            _log.warning("leader election: %s", exc)
            leading = self.elector.is_leader()
        if leading != self._was_leader:
            self.transitions += int(leading)
            _log.info("leader election: %s %s the Lease %s", self.identity,
                      "holds" if leading else "no longer holds", self.lease)
        self._was_leader = leading
        return leading

    def start(self) -> None:
        """Step at once (a sole replica leads before its first period), then every ``retry_period_s``."""
        if self._thread is not None:
            return
        self.step()
        self._thread = threading.Thread(target=self._loop, name="foresight-leader", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.retry_period_s):
            self.step()

    def stop(self) -> None:
        """Stop renewing and hand the Lease over (the next replica need not wait for it to expire)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.retry_period_s + 10.0)
        try:
            self.elector.release()
        except ForesightError as exc:
            _log.warning("leader election: could not release the Lease %s: %s", self.lease, exc)
