"""Putting one device's samples back in sequence: late and out-of-order arrivals, QoS 1 duplicates, gaps.

MQTT's QoS 1 delivers every message at least once, so a consumer sees some twice (after a
reconnect the broker redelivers what it had not seen acknowledged), and a device back from an
outage replays its backlog while, maybe, publishing live samples beside it. The detectors need
each sample exactly once and in the order it was measured; the device's sequence number
``(boot, seq)`` says both.

Per device, :class:`SequenceOrder` releases samples strictly in sequence. A sample at or below
the last released one is *stale* (a redelivery, or one that comes after its gap was given up on)
and dropped. A sample beyond the next expected one waits until the gap fills; a gap is given up
on (its samples counted as *skipped*, i.e. lost) when the oldest waiting sample has waited
``wait_s`` or more than ``max_pending`` samples wait, so one lost message never stalls a device.
A higher ``boot`` means the device restarted and its sequence began again: what waits of the
old boot is released first, gaps and all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from foresight.edge.schema import Sample

__all__ = ["Admitted", "SequenceOrder"]


@dataclass(frozen=True, slots=True)
class Admitted:
    """What :meth:`SequenceOrder.push` did with one sample."""

    stale: bool


@dataclass
class SequenceOrder:
    """One device's ordering state: the next sample it expects and those that arrived early.

    >>> from foresight.edge.schema import Sample
    >>> order = SequenceOrder()
    >>> for seq in (0, 2, 1, 1, 3):
    ...     _ = order.push(Sample(0, seq, float(seq), {}), now=0.0)
    >>> [s.seq for s in order.release(now=0.0, wait_s=5.0, max_pending=100)[0]], order.stale
    ([0, 1, 2, 3], 1)
    >>> _ = order.push(Sample(0, 6, 6.0, {}), now=1.0)
    >>> order.release(now=2.0, wait_s=5.0, max_pending=100)[0], order.release(now=6.0, wait_s=5.0, max_pending=100)[1]
    ([], 2)
    """

    boot: int = -1
    next_seq: int | None = None
    pending: dict[int, tuple[Sample, float]] = field(default_factory=dict)
    stale: int = 0
    skipped: int = 0
    released: int = 0
    _held: list[Sample] = field(default_factory=list, repr=False)

    def push(self, sample: Sample, now: float) -> Admitted:
        """Take one arrived sample (``now``: when it arrived); a stale one is counted and dropped."""
        if sample.boot < self.boot or (
            sample.boot == self.boot
            and ((self.next_seq is not None and sample.seq < self.next_seq) or sample.seq in self.pending)
        ):
            self.stale += 1
            return Admitted(stale=True)
        if sample.boot > self.boot:
            self._flush()
            self.boot, self.next_seq = sample.boot, None
        self.pending[sample.seq] = (sample, now)
        return Admitted(stale=False)

    def release(self, now: float, wait_s: float, max_pending: int) -> tuple[list[Sample], int]:
        """The samples now ready, in sequence, and how many were skipped (given up on) to get them."""
        out, skipped = self._held, 0
        self._held = []
        if self.next_seq is None and self.pending:
            self.next_seq = min(self.pending)
        while self.pending:
            assert self.next_seq is not None
            ready = self.pending.pop(self.next_seq, None)
            if ready is not None:
                out.append(ready[0])
                self.next_seq += 1
                continue
            oldest = min(arrived for _, arrived in self.pending.values())
            if now - oldest < wait_s and len(self.pending) <= max_pending:
                break
            first = min(self.pending)
            skipped += first - self.next_seq
            self.next_seq = first
        self.skipped += skipped
        self.released += len(out)
        return out, skipped

    @property
    def idle(self) -> bool:
        """Nothing to release: no sample waits and no restart left samples to hand out."""
        return not self.pending and not self._held

    @property
    def waiting(self) -> int:
        """Samples that arrived ahead of a gap and wait for it."""
        return len(self.pending)

    def _flush(self) -> None:
        """Release what waits of the current boot, in order, gaps skipped (the device restarted)."""
        if not self.pending:
            return
        held = [self.pending[seq][0] for seq in sorted(self.pending)]
        start = self.next_seq if self.next_seq is not None else held[0].seq
        self.skipped += held[-1].seq - start + 1 - len(held)
        self.pending.clear()
        self._held.extend(held)
