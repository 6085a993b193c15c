"""The correlator: alerts in, incidents out, state kept explicitly between calls (pure: no I/O, no clock).

A fault shows where it is first, then, after a delay, in the services that call it. So an alert
``a`` on service ``S`` is linked to an open alert ``b`` that started within ``window_s`` of it when

- ``b`` is on a service ``S`` calls within ``max_hops`` (through silent ones) and started before
  ``a`` (or at most ``skew_s`` after: clocks disagree): ``b`` may be ``a``'s cause;
- ``b`` is on a service calling ``S`` within ``max_hops`` and started with or after ``a`` (or at
  most ``skew_s`` before): ``a`` explains ``b`` (alerts of one rule evaluation start together);
- ``b`` is on the same service, the same pod, or a pod on the same node (``graph.placement``), or
  one of them is the node's own alert (``KubeNodeNotReady``) and the other about a pod on it.

A callee that alerted after its caller is neither its cause nor its symptom, and two callers of one
service join only through that service's alert. An alert about one pod's own condition (restarts,
OOM, not ready, ...: :data:`~foresight.correlate.nearby.POD_LOCAL`) links through its service, pod
and node only, never along calls: one replica's trouble reaches the callers through the service's
own alerts. A latency, error or saturation alert that names a pod links like its service's, and
only so: not by its pod or node (two faults of one service, or of two services sharing a node,
stay apart as their service-level alerts would).

An alert's pod service and node are read from the placement when it is first placed and kept
while it is open (the state's ``placed``): a lost node's pods leave the placement minutes after its
alerts started, and the node must stay what they are about.

An alert on a service the graph does not know (no topology yet: live without Prometheus; a service
outside the mesh) links by time alone: to any alert on a service, known or not, that started within
``unknown_window_s`` of it, either way, as a possible cause. Without calls to say which way a fault
travelled, only alerts that started nearly together are likely one fault. An alert that names no
service at all (a cluster-wide alert such as ``Watchdog``) links only by its pod or node.

1. A new alert *joins* every open incident holding an alert it explains, on its pod, or about its
   node (or its node's pods, when it is the node's own alert): several of them are *merged* into
   the oldest (earliest ``opened_at``, then id), and each merged one is returned once more,
   ``resolved`` with ``merged_into`` naming the survivor, so an actuator closes it; its alerts
   continue in the survivor. Otherwise it joins the one incident holding its likeliest cause (an
   alert it may be a symptom of, or another on its service or node): the alert nearest in time,
   then the oldest incident; two faults that overlap in time and topology stay two incidents.
   A *fragment* joins too: an incident its likeliest-cause links reach that an alert on the same
   service opened at most ``unknown_window_s`` earlier or later. One fault's alerts on one service
   come from different rules (the service's latency, its pods' readiness) whose ``for:`` clocks
   do not keep their order, so the service's first alert may open an incident a moment before its
   pod's alert ties the service to the node (or callee) at fault.
   Linking to none, it opens an incident whose id is derived from its key and start (replays
   give the same ids).
2. Linking uses alert start times, never arrival order, and the alerts of one call are applied in
   start order, so a call gives the same incidents whatever order it lists them in. A late alert
   that explains alerts already placed joins (and merges) their incidents, so a cascade whose
   alerts arrive out of order still ends in one incident; an update of an alert already placed
   (its end, its score) keeps it where it is.
3. An incident resolves ``resolve_after_s`` after its last alert ended (``resolved_at`` is when
   that alert ended); an alert that links to it before then (a flap) reopens it. Resolved
   incidents are remembered ``keep_resolved_s`` so repeats of their alerts change nothing.

An alert's versions are ordered by (start, resolved, end): a version older than the one held (a
firing repeat of a resolved alert, an earlier episode) is ignored, an identical one changes
nothing, and one of the same version with other details (score, metric, labels) replaces it.

>>> from foresight.correlate.graph import ServiceGraph
>>> g = ServiceGraph.of([("frontend", "cart"), ("cart", "checkout")])
>>> c = Correlator()
>>> [i.alerts for i in c.observe([Alert("a", "Slow", "checkout", 100.0)], g, now=100.0)]
[('a',)]
>>> [(i.alerts, i.suppressed, i.root_cause.service) for i in c.observe(
...     [Alert("b", "Slow", "frontend", 160.0)], g, now=160.0)]
[(('a', 'b'), ('b',), 'checkout')]
>>> [i.status for i in c.observe([Alert("a", "Slow", "checkout", 100.0, ends_at=170.0),
...     Alert("b", "Slow", "frontend", 160.0, ends_at=175.0)], g, now=500.0)]
['resolved']
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Alert, Incident, IncidentStatus, InvalidAlert
from foresight.correlate.nearby import Nearby
from foresight.correlate.rank import Explanation, explain
from foresight.correlate.state import alert_from, alert_to, incident_from, incident_to
from foresight.errors import ConfigError, InputError

__all__ = ["CorrelationSettings", "Correlator", "InvalidState"]

STATE_VERSION = 1


class InvalidState(InputError):
    """A saved correlator state this version cannot read (another format version, missing fields)."""


@dataclass(frozen=True)
class CorrelationSettings:
    """The correlator's knobs, each with the reason for its default."""

    #: alerts whose first firings are further apart than this never link directly: a cascade
    #: reaches the callers in seconds to a few minutes (timeouts, retries, queues filling); a longer
    #: window mostly takes a new fault in a caller for a symptom (chosen from 120-300 s on the bench's
    #: cascade seeds 0 and 3: 180 s, against 300 s grouping F1 0.897 -> 0.905, strict recall 0.921 ->
    #: 0.947 on seed 0)
    window_s: float = 180.0
    #: how many calls a fault may travel from one alerting service to an alerting caller for them
    #: to join; 2 lets it pass one service that stayed under its alert threshold
    max_hops: int = 2
    #: an incident resolves this long after its last alert ended: Alertmanager's default
    #: ``resolve_timeout`` (5 m), so a flapping alert reopens the incident instead of a new one
    resolve_after_s: float = 300.0
    #: clocks of different alert sources disagree by a few seconds: a dependency that alerted up to
    #: this much after its caller still explains the caller's alert (alerts from metrics sampled
    #: every minute need at least that resolution here)
    skew_s: float = 10.0
    #: alerts on services the graph does not know link by time alone, when they started at most this
    #: far apart: with no calls to go by, a short window (Alertmanager's ``group_wait`` is 30 s, and
    #: rules evaluated every 30-60 s fire one fault's alerts within a cycle or two) keeps unrelated
    #: faults apart; for the same reason, two alerts on one service this close are one fault's when
    #: a third ties one of them elsewhere (a *fragment*, module docstring)
    unknown_window_s: float = 60.0
    #: resolved incidents are remembered this long (repeats of their alerts change nothing,
    #: ``incident_of`` still answers), then dropped so memory stays bounded
    keep_resolved_s: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("window_s", "resolve_after_s", "skew_s", "unknown_window_s", "keep_resolved_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"correlation: {name} must be a finite number >= 0, got {value}")
        if self.max_hops < 0:
            raise ConfigError(f"correlation: max_hops must be >= 0, got {self.max_hops}")


@dataclass
class _Open:
    """An open incident: its alert keys, its first alert's start, what was last published, and a
    cache of its explanation (not state: rebuilt on first use after a restore)."""

    id: str
    opened_at: float
    keys: set[str]
    published: Incident | None = None
    #: the graph and the alerts (all but their ends) it was last explained from, and that explanation
    explained: tuple[Nearby, list[tuple[Any, ...]], Explanation] | None = None


class Correlator:
    """Groups alerts into incidents over a service graph; see the module docstring for the rules."""

    def __init__(self, settings: CorrelationSettings = CorrelationSettings()) -> None:
        self.settings = settings
        self._alerts: dict[str, Alert] = {}  # every alert of an open incident, by key
        self._where: dict[str, str] = {}  # alert key -> open incident id
        self._open: dict[str, _Open] = {}
        self._closed: dict[str, tuple[Incident, float]] = {}  # id -> (final incident, closed at)
        self._ended: dict[str, tuple[float, str]] = {}  # alert key -> (its start, closed incident id)
        self._near: Nearby | None = None
        #: open alert key -> (its pod's service, its nodes) by the placement when it was first placed
        self._pinned: dict[str, tuple[str | None, frozenset[str]]] = {}
        self._index: dict[str, dict[str, set[str]]] = {}

    # ---- the public surface ------------------------------------------------------------------

    def observe(self, alerts: Iterable[Alert], graph: ServiceGraph, now: float) -> list[Incident]:
        """Feed new, repeated, updated or resolved alerts (any order; an alert with the same key
        replaces the earlier one; ends_at set = resolved). Returns the incidents this call opened,
        changed or resolved (each at its new revision; merged ones resolved with ``merged_into``).
        Calling it with no alerts advances time (resolutions).

        Raises :class:`InvalidAlert` for an alert with a NaN/infinite time or score, an end before
        its start, or an empty key, before anything changes.
        """
        batch = _latest(alerts)
        if not math.isfinite(now):
            raise InputError(f"now must be a finite time, got {now}")
        self._use(graph)
        out: dict[str, Incident] = {}
        touched: set[str] = set()
        for alert in sorted(batch.values(), key=lambda a: (a.starts_at, a.key)):
            target = self._place(alert, now, out)
            if target is not None:
                touched.add(target)
        for inc in list(self._open.values()):
            self._settle(inc, now, touched, out)
        for key in [k for k, (_, closed_at) in self._closed.items() if now - closed_at > self.settings.keep_resolved_s]:
            self._forget(key)
        return sorted(out.values(), key=lambda i: (i.opened_at, i.id))

    @property
    def incidents(self) -> tuple[Incident, ...]:
        """The open incidents, as last published, oldest first."""
        found = [o.published for o in self._open.values() if o.published is not None]
        return tuple(sorted(found, key=lambda i: (i.opened_at, i.id)))

    def incident_of(self, alert_key: str) -> str | None:
        """The incident holding the alert: the open one, else a resolved one still remembered."""
        if alert_key in self._where:
            return self._where[alert_key]
        ended = self._ended.get(alert_key)
        return ended[1] if ended else None

    def state(self) -> dict[str, Any]:
        """Everything :meth:`from_state` needs, as JSON-serialisable data."""
        return {
            "version": STATE_VERSION,
            "alerts": [alert_to(self._alerts[k]) for k in sorted(self._alerts)],
            "open": [
                {
                    "id": o.id,
                    "opened_at": o.opened_at,
                    "keys": sorted(o.keys),
                    "published": incident_to(o.published) if o.published else None,
                }
                for o in sorted(self._open.values(), key=lambda o: o.id)
            ],
            "closed": [
                {"incident": incident_to(inc), "closed_at": at}
                for inc, at in sorted(self._closed.values(), key=lambda v: v[0].id)
            ],
            "ended": [[k, start, iid] for k, (start, iid) in sorted(self._ended.items())],
            "placed": [[k, service, sorted(nodes)] for k, (service, nodes) in sorted(self._pinned.items())],
        }

    @classmethod
    def from_state(cls, data: Mapping[str, Any], settings: CorrelationSettings = CorrelationSettings()) -> Correlator:
        """The correlator whose :meth:`state` was ``data``; it continues exactly as that one would."""
        if data.get("version") != STATE_VERSION:
            raise InvalidState(f"correlator state version {data.get('version')!r}, expected {STATE_VERSION}")
        c = cls(settings)
        try:
            c._alerts = {a["key"]: alert_from(a) for a in data["alerts"]}
            for o in data["open"]:
                published = incident_from(o["published"]) if o["published"] else None
                c._open[o["id"]] = _Open(o["id"], float(o["opened_at"]), set(o["keys"]), published)
                c._where.update({k: o["id"] for k in o["keys"]})
            for entry in data["closed"]:
                inc = incident_from(entry["incident"])
                c._closed[inc.id] = (inc, float(entry["closed_at"]))
            c._ended = {k: (float(start), iid) for k, start, iid in data["ended"]}
            # a state saved before placements were kept has none: its alerts read the graph as it is
            c._pinned = {k: (service, frozenset(nodes)) for k, service, nodes in data.get("placed", [])}
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidState(f"correlator state is incomplete or malformed: {e!r}") from e
        return c

    # ---- placing one alert ---------------------------------------------------------------------

    def _place(self, alert: Alert, now: float, out: dict[str, Incident]) -> str | None:
        """Put ``alert`` in its incident (opening or merging as needed); None when it changes nothing."""
        home = self._where.get(alert.key)
        if home is not None:
            held = self._alerts[alert.key]
            if _version(alert) < _version(held) or alert == held:
                return None
            self._unindex(held)
            if (alert.starts_at, alert.service, alert.component) == (held.starts_at, held.service, held.component):
                self._alerts[alert.key] = alert  # the same episode, ended or re-scored: its links stand
                self._index_alert(alert)
                return home
        elif alert.key in self._ended and alert.starts_at <= self._ended[alert.key][0]:
            return None  # a repeat of an alert whose incident already resolved
        self._pin(alert)
        joins, explains, nearest = self._linked(alert)
        if home is not None:
            joins.add(home)
        if nearest and (not joins or explains):  # its likeliest cause, as if it had come in order
            joins.add(min(nearest, key=lambda i: (nearest[i], self._open[i].opened_at, i)))
        elif joins:
            joins |= self._fragments(alert, nearest)
        if not joins:
            inc = _Open(self._new_id(alert), alert.starts_at, set())
            self._open[inc.id] = inc
            joins.add(inc.id)
        target = min(joins, key=lambda i: (self._open[i].opened_at, i))
        for other in sorted(joins - {target}):
            self._merge(other, target, now, out)
        inc = self._open[target]
        inc.keys.add(alert.key)
        inc.opened_at = min(inc.opened_at, alert.starts_at)
        self._alerts[alert.key] = alert
        self._where[alert.key] = target
        self._index_alert(alert)
        return target

    def _fragments(self, alert: Alert, nearest: Mapping[str, float]) -> set[str]:
        """The incidents among ``nearest`` that are a fragment of ``alert``'s fault: opened by an
        alert on its service that started at most ``unknown_window_s`` from it (module docstring)."""
        near = self._require_near()
        service, together = near.service(alert), self.settings.unknown_window_s
        found = set()
        for iid, gap in nearest.items():
            if gap > together:
                continue
            first = min((self._alerts[k] for k in self._open[iid].keys), key=lambda a: (a.starts_at, a.key))
            if near.service(first) == service and abs(first.starts_at - alert.starts_at) <= together:
                found.add(iid)
        return found

    def _pin(self, alert: Alert) -> None:
        """Keep where the placement puts ``alert`` now, for as long as it is open (its node may
        leave the placement while it fires: :meth:`Nearby.pin`)."""
        self._pinned.pop(alert.key, None)
        if (where := self._require_near().pin(alert)) is not None:
            self._pinned[alert.key] = where

    def _linked(self, alert: Alert) -> tuple[set[str], bool, dict[str, float]]:
        """The open incidents ``alert`` joins (all of them), whether it explains alerts already
        there, and the incidents it may join (one of them) with the seconds to their nearest alert
        linked to ``alert``; see the module docstring."""
        near = self._require_near()
        window, skew = self.settings.window_s, self.settings.skew_s
        t = alert.starts_at
        joins: set[str] = set()
        explains = False
        nearest: dict[str, float] = {}

        def link(keys: Iterable[str], earliest: float, latest: float, *, must: bool) -> None:
            for k in keys:
                other = self._alerts[k]
                if k == alert.key or not earliest <= other.starts_at <= latest:
                    continue
                iid = self._where[k]
                if must:
                    joins.add(iid)
                else:
                    nearest[iid] = min(abs(other.starts_at - t), nearest.get(iid, math.inf))

        service = near.service(alert)
        if service is not None:
            alone = self.settings.unknown_window_s  # by time alone: see the module docstring
            on_services = self._index["service"].values() if not near.known(service) else (self._index["unknown"].get("", ()),)
            for keys in on_services:
                link(keys, t - alone, t + alone, must=False)
            link(self._index["service"].get(service, ()), t - window, t + window, must=False)
            if not near.pod_local(alert):  # one replica's own trouble is no symptom of a callee's
                link(self._on(near.callees_within(service), "service"), t - window, t + skew, must=False)
            callers = list(self._on(near.callers_within(service), "calls"))
            link(callers, t - skew, math.nextafter(t, -math.inf), must=False)  # just before: may share its cause
            before = set(joins)
            link(callers, t, t + window, must=True)  # its symptoms (started with it: one rule evaluation)
            explains = joins != before
        if self._by_component(alert):
            link(self._index["component"].get(alert.component, ()), t - window, t + window, must=True)
        for node in near.nodes(alert):
            link(self._index["node"].get(node, ()), t - window, t + window, must=alert.component == node)
            link(self._index["node itself"].get(node, ()), t - window, t + window, must=True)
        return joins, explains, nearest

    def _on(self, services: frozenset[str], index: str) -> Iterable[str]:
        """Keys of the open alerts on ``services`` in ``index`` (walking the smaller of the two)."""
        by_service = self._index[index]
        pool = services if len(services) <= len(by_service) else by_service.keys() & services
        for s in pool:
            yield from by_service.get(s, ())

    def _merge(self, other: str, target: str, now: float, out: dict[str, Incident]) -> None:
        gone = self._open.pop(other)
        survivor = self._open[target]
        survivor.keys |= gone.keys
        survivor.opened_at = min(survivor.opened_at, gone.opened_at)
        for k in gone.keys:
            self._where[k] = target
        out.pop(other, None)
        if gone.published is not None:  # never published (opened in this call): nothing to close
            final = replace(
                gone.published,
                status=IncidentStatus.RESOLVED,
                resolved_at=now,
                merged_into=target,
                revision=gone.published.revision + 1,
            )
            self._closed[other] = (final, now)
            out[other] = final

    def _new_id(self, alert: Alert) -> str:
        digest = hashlib.sha256(f"{alert.key}\0{alert.starts_at!r}".encode()).hexdigest()[:12]
        iid, n = f"inc-{digest}", 1
        while iid in self._open or iid in self._closed:
            n += 1
            iid = f"inc-{digest}-{n}"
        return iid

    # ---- publishing and resolving ---------------------------------------------------------------

    def _settle(self, inc: _Open, now: float, touched: set[str], out: dict[str, Incident]) -> None:
        """Resolve ``inc`` when its alerts ended long enough ago, else publish it if it changed."""
        alerts = [self._alerts[k] for k in sorted(inc.keys)]
        ends = [a.ends_at for a in alerts]
        quiet_since = max(e for e in ends if e is not None) if None not in ends else None
        done = quiet_since is not None and now >= quiet_since + self.settings.resolve_after_s
        if inc.id not in touched and not done:
            return
        near = self._require_near()
        basis = [(a.key, a.starts_at, a.service, a.component, a.metric, a.name, a.score) for a in alerts]
        if inc.explained is None or inc.explained[0] is not near or inc.explained[1] != basis:
            inc.explained = (near, basis, explain(alerts, near, self.settings.skew_s))  # an end changes none of it
        found = inc.explained[2]
        fresh = Incident(
            id=inc.id,
            opened_at=inc.opened_at,
            services=tuple(sorted({s for a in alerts if (s := near.service(a)) is not None})),
            alerts=tuple(a.key for a in alerts),
            suppressed=found.suppressed,
            candidates=found.candidates,
            status=IncidentStatus.RESOLVED if done else IncidentStatus.FIRING,
            resolved_at=quiet_since if done else None,
        )
        last = inc.published
        if last is not None and replace(last, revision=0) == fresh:
            return
        inc.published = replace(fresh, revision=(last.revision if last else 0) + 1)
        out[inc.id] = inc.published
        if done:
            self._close(inc, now)

    def _close(self, inc: _Open, now: float) -> None:
        assert inc.published is not None
        del self._open[inc.id]
        self._closed[inc.id] = (inc.published, now)
        for k in inc.keys:
            alert = self._alerts.pop(k)
            self._unindex(alert)
            self._pinned.pop(k, None)
            del self._where[k]
            self._ended[k] = (alert.starts_at, inc.id)

    def _forget(self, iid: str) -> None:
        final, _ = self._closed.pop(iid)
        for k in final.alerts:  # a merged incident's keys live on elsewhere: only its own ended ones go
            if self._ended.get(k, (0.0, ""))[1] == iid:
                del self._ended[k]

    # ---- the graph and the indexes over open alerts ----------------------------------------------

    def _use(self, graph: ServiceGraph) -> None:
        """Keep neighbourhoods while the graph is the same; re-index the open alerts when it changes."""
        if self._near is not None and (self._near.graph is graph or self._near.graph == graph):
            return
        self._near = Nearby(graph, self.settings.max_hops, self._pinned)
        self._index = {"service": {}, "calls": {}, "component": {}, "node": {}, "node itself": {}, "unknown": {}}
        for alert in self._alerts.values():
            self._index_alert(alert)

    def _require_near(self) -> Nearby:
        assert self._near is not None, "observe() sets the graph first"
        return self._near

    def _subjects(self, alert: Alert) -> list[tuple[str, str]]:
        near = self._require_near()
        found = [("node", n) for n in near.nodes(alert)]
        found += [("node itself", n) for n in near.nodes(alert) if n == alert.component]
        if (s := near.service(alert)) is not None:
            found.append(("service", s))
            if not near.known(s):
                found.append(("unknown", ""))
            if not near.pod_local(alert):
                found.append(("calls", s))
        if self._by_component(alert):
            found.append(("component", alert.component))
        return found

    def _by_component(self, alert: Alert) -> bool:
        """Whether ``alert`` joins every alert about its pod or node: when it is about the pod's own
        condition, is the node's own alert, or names no service to go by. A latency or error alert
        computed per pod links like its service's (two faults of one service stay two incidents)."""
        near = self._require_near()
        c = alert.component
        return c is not None and (near.service(alert) is None or near.pod_local(alert) or c in near.nodes(alert))

    def _index_alert(self, alert: Alert) -> None:
        for kind, value in self._subjects(alert):
            self._index[kind].setdefault(value, set()).add(alert.key)

    def _unindex(self, alert: Alert) -> None:
        for kind, value in self._subjects(alert):
            keys = self._index[kind][value]
            keys.discard(alert.key)
            if not keys:
                del self._index[kind][value]


def _version(alert: Alert) -> tuple[float, bool, float]:
    """Later versions of one alert compare greater: a later episode, then resolved over firing."""
    return (alert.starts_at, alert.ends_at is not None, alert.ends_at if alert.ends_at is not None else -math.inf)


def _latest(alerts: Iterable[Alert]) -> dict[str, Alert]:
    """Check every alert, then keep each key's latest version (ties: the last one given)."""
    batch: dict[str, Alert] = {}
    for alert in alerts:
        _check(alert)
        held = batch.get(alert.key)
        if held is None or _version(alert) >= _version(held):
            batch[alert.key] = alert
    return batch


def _check(alert: Alert) -> None:
    if not isinstance(alert.key, str) or not alert.key:
        raise InvalidAlert(f"alert {alert.name!r}: key must be a non-empty string, got {alert.key!r}")
    if not math.isfinite(alert.starts_at):
        raise InvalidAlert(f"alert {alert.key!r}: starts_at must be a finite time, got {alert.starts_at}")
    if alert.ends_at is not None:
        if not math.isfinite(alert.ends_at):
            raise InvalidAlert(f"alert {alert.key!r}: ends_at must be a finite time or None, got {alert.ends_at}")
        if alert.ends_at < alert.starts_at:
            raise InvalidAlert(
                f"alert {alert.key!r}: ends_at {alert.ends_at} is before starts_at {alert.starts_at}"
            )
    if not math.isfinite(alert.score):
        raise InvalidAlert(f"alert {alert.key!r}: score must be finite, got {alert.score}")
