"""The identity graph: who an event belongs to, and which profiles are one person.

Nodes are (kind, value) pairs — user ids, anonymous ids, device ids and e-mails — each
pointing at one canonical profile. The rules, in the order they matter:

1. An event with a ``userId`` belongs to that user's profile (created on first sight).
2. Its other nodes join that profile. A node on an *anonymous* profile brings the whole
   profile along: the anonymous history merges into the user's (cause: the event's type).
3. A node on *another identified* profile is never a reason to merge two users (a family
   TV, a shared laptop): the node is relinked to the user seen most recently, by event
   time, and each person keeps their own history. Relinks are recorded like merges.
4. Only an ``alias`` merges two identified profiles: previousId's profile into userId's.
   An alias whose previousId is an anonymous id held by *another identified* person moves
   that id and its anonymous history only, never the person; one whose previousId is not
   known yet links both readings of it (user id and anonymous id), so events that arrive
   after the alias still find the user.
5. An anonymous event belongs to its anonymousId's profile, else its device's, else its
   e-mail's, else a new anonymous profile; anonymous profiles it touches merge together,
   and into the one identified profile it touches, if any.
6. Traits merge last-write-wins by event time, trait by trait (compared as times).

The graph works on the part of the store a chunk of events touches, loaded up front; the
store writes back what changed. It knows nothing of SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tailored.events import ValidEvent

__all__ = [
    "HistoryMove",
    "IdentityGraph",
    "MergeRecord",
    "Node",
    "NodeState",
    "ProfileState",
    "event_nodes",
]

Node = tuple[str, str]  # (kind, value)
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(slots=True)
class NodeState:
    profile_id: str
    linked_at: datetime
    first_seen: datetime
    stored: bool = False
    dirty: bool = False


@dataclass(slots=True)
class ProfileState:
    profile_id: str
    user_id: str | None
    traits: dict[str, Any]
    # When each trait was last set (event time), as datetimes: compared as times.
    trait_times: dict[str, datetime]
    first_seen: datetime | None
    last_seen: datetime | None
    created_at: datetime
    merged_into: str | None = None
    stored: bool = False
    # ``dirty``: anything changed; ``changed``: more than the time span (traits, user id,
    # merge), so the store rewrites the whole row rather than two times.
    dirty: bool = False
    changed: bool = False

    @property
    def identified(self) -> bool:
        return self.user_id is not None

    def see(self, t: datetime) -> None:
        if self.first_seen is None or t < self.first_seen:
            self.first_seen = t
            self.dirty = True
        if self.last_seen is None or t > self.last_seen:
            self.last_seen = t
            self.dirty = True

    def set_traits(self, traits: dict[str, Any], t: datetime) -> None:
        times = self.trait_times
        for name, value in traits.items():
            if times.get(name, _NEVER) <= t:
                self.traits[name] = value
                times[name] = t
                self.dirty = self.changed = True

    def absorb(self, other: ProfileState) -> None:
        """Take the other profile's traits where they are newer, and its time span."""
        for name, value in other.traits.items():
            set_at = other.trait_times.get(name, _NEVER)
            if self.trait_times.get(name, _NEVER) <= set_at:
                self.traits[name] = value
                self.trait_times[name] = set_at
        for seen in (other.first_seen, other.last_seen):
            if seen is not None:
                self.see(seen)
        self.dirty = self.changed = True


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """``kind`` "merge": from_profile joined into_profile. "relink": a node moved between
    two identified people."""

    kind: str
    from_profile: str
    into_profile: str
    identity_kind: str
    identity_value: str
    cause: str
    message_id: str
    event_time: datetime


@dataclass(frozen=True, slots=True)
class HistoryMove:
    """An anonymous id that an alias took from one identified person to another: its
    anonymous events (no userId) move with it; the person it left keeps the rest."""

    anonymous_id: str
    from_profile: str
    into_profile: str


def event_nodes(ev: ValidEvent) -> list[Node]:
    """Every node an event names, the strongest first."""
    e = ev.event
    nodes: list[Node] = []
    if e.user_id:
        nodes.append(("user_id", e.user_id))
    if e.type == "alias" and e.previous_id:
        nodes.append(("user_id", e.previous_id))
        nodes.append(("anonymous_id", e.previous_id))
    if e.anonymous_id:
        nodes.append(("anonymous_id", e.anonymous_id))
    if ev.device_id:
        nodes.append(("device_id", ev.device_id))
    if ev.email:
        nodes.append(("email", ev.email))
    return nodes


@dataclass
class IdentityGraph:
    """The loaded part of the graph, changed in memory event by event.

    Every event resolved is attributed in ``attributed`` (in order); a merge moves a
    profile's nodes through an index from profile to nodes, so its cost is the loser's
    size, not the graph's.
    """

    nodes: dict[Node, NodeState]
    profiles: dict[str, ProfileState]
    now: datetime
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    merges: list[MergeRecord] = field(default_factory=list)
    moves: list[HistoryMove] = field(default_factory=list)
    attributed: list[str] = field(default_factory=list)
    _members: dict[str, set[Node]] = field(init=False, repr=False)
    # Positions in ``attributed`` of anonymous events, by anonymous id: an alias that moves
    # the id moves those of them that went to the person it left.
    _anonymous: dict[str, list[int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._members = {}
        for node, state in self.nodes.items():
            self._members.setdefault(state.profile_id, set()).add(node)
        self._anonymous = {}

    def canonical(self, profile_id: str) -> str:
        p = self.profiles.get(profile_id)
        while p is not None and p.merged_into is not None:
            profile_id = p.merged_into
            p = self.profiles.get(profile_id)
        return profile_id

    def members(self, profile_id: str) -> set[Node]:
        """The loaded nodes that point at this profile."""
        return self._members.get(profile_id, set())

    def resolve(self, ev: ValidEvent, nodes: list[Node] | None = None) -> str:
        """Attribute one event to a profile, merging and relinking as the rules say.

        ``nodes`` are the event's :func:`event_nodes`, when the caller has them already.
        """
        e = ev.event
        t = ev.timestamp
        others = [n for n in (event_nodes(ev) if nodes is None else nodes)
                  if n[0] != "user_id"]
        if e.user_id:
            target = self._user_profile(e.user_id, t)
            if e.type == "alias" and e.previous_id:
                self._alias(e.previous_id, target, ev)
                target = self.canonical(target)
                others = [n for n in others if n != ("anonymous_id", e.previous_id)]
            for node in others:
                self._attach_identified(node, target, ev)
        else:
            target = self._anonymous_target(others, t)
            for node in others:
                target = self._attach_anonymous(node, target, ev)
            if e.anonymous_id:
                self._anonymous.setdefault(e.anonymous_id, []).append(len(self.attributed))
        profile = self.profiles[target]
        profile.see(t)
        if e.type == "identify" and e.traits:
            profile.set_traits(e.traits, t)
        self.attributed.append(target)
        return target

    # -- building blocks -------------------------------------------------------------

    def _new_profile(self, user_id: str | None, t: datetime) -> str:
        pid = self.new_id()
        self.profiles[pid] = ProfileState(
            profile_id=pid, user_id=user_id, traits={}, trait_times={}, first_seen=t,
            last_seen=t, created_at=self.now, dirty=True,
        )
        return pid

    def _point(self, node: Node, state: NodeState, profile_id: str) -> None:
        if state.profile_id != profile_id:
            members = self._members.get(state.profile_id)
            if members is not None:
                members.discard(node)
            self._members.setdefault(profile_id, set()).add(node)
            state.profile_id = profile_id

    def _link(self, node: Node, profile_id: str, t: datetime) -> None:
        state = self.nodes.get(node)
        if state is None:
            self.nodes[node] = NodeState(profile_id, t, t, stored=False, dirty=True)
            self._members.setdefault(profile_id, set()).add(node)
            return
        if state.profile_id != profile_id or t > state.linked_at:
            self._point(node, state, profile_id)
            state.linked_at = max(state.linked_at, t)
            state.dirty = True
        if t < state.first_seen:
            state.first_seen = t
            state.dirty = True

    def _user_profile(self, user_id: str, t: datetime) -> str:
        state = self.nodes.get(("user_id", user_id))
        if state is not None:
            return self.canonical(state.profile_id)
        pid = self._new_profile(user_id, t)
        self._link(("user_id", user_id), pid, t)
        return pid

    def _merge(self, loser: str, winner: str, node: Node, ev: ValidEvent) -> None:
        loser, winner = self.canonical(loser), self.canonical(winner)
        if loser == winner:
            return
        lost, won = self.profiles[loser], self.profiles[winner]
        won.absorb(lost)
        if won.user_id is None and lost.user_id is not None:
            won.user_id = lost.user_id
        lost.merged_into = winner
        lost.dirty = lost.changed = True
        # Only the loser's own nodes move (the store moves those not loaded).
        moved = self._members.pop(loser, set())
        for member in moved:
            state = self.nodes[member]
            state.profile_id = winner
            state.dirty = True
        self._members.setdefault(winner, set()).update(moved)
        self.merges.append(MergeRecord(
            "merge", loser, winner, node[0], node[1], ev.event.type, ev.message_id,
            ev.timestamp,
        ))

    def _alias(self, previous_id: str, target: str, ev: ValidEvent) -> None:
        t = ev.timestamp
        known = self.nodes.get(("user_id", previous_id))
        if known is not None:
            # An explicit alias of a user id: the one way two identified people merge.
            self._merge(known.profile_id, target, ("user_id", previous_id), ev)
            self._link(("user_id", previous_id), self.canonical(target), t)
            return
        node = ("anonymous_id", previous_id)
        state = self.nodes.get(node)
        if state is None:
            # Not seen yet: both readings of previousId point at the user, so anonymous
            # events that arrive after the alias land on them too.
            self._link(("user_id", previous_id), target, t)
            self._link(node, target, t)
            return
        holder = self.canonical(state.profile_id)
        target = self.canonical(target)
        if holder == target:
            self._link(node, target, t)
        elif not self.profiles[holder].identified:
            self._merge(holder, target, node, ev)
            self._link(node, self.canonical(target), t)
        else:
            # The anonymous id is another identified person's (a shared browser): the id
            # and its anonymous history move; that person and the rest of their history
            # stay where they are.
            self.merges.append(MergeRecord(
                "relink", holder, target, node[0], node[1], ev.event.type, ev.message_id, t,
            ))
            self.moves.append(HistoryMove(previous_id, holder, target))
            for i in self._anonymous.get(previous_id, ()):
                if self.canonical(self.attributed[i]) == holder:
                    self.attributed[i] = target
            self._point(node, state, target)
            state.linked_at = max(state.linked_at, t)
            state.dirty = True

    def _attach_identified(self, node: Node, target: str, ev: ValidEvent) -> None:
        state = self.nodes.get(node)
        t = ev.timestamp
        if state is None or state.profile_id == target:
            self._link(node, target, t)
            return
        holder = self.profiles[state.profile_id]
        if not holder.identified:
            self._merge(holder.profile_id, target, node, ev)
            self._link(node, target, t)
        elif t >= state.linked_at:
            self.merges.append(MergeRecord(
                "relink", state.profile_id, target, node[0], node[1], ev.event.type,
                ev.message_id, t,
            ))
            self._link(node, target, t)
        # An older event from a device that has since moved on to someone else leaves the
        # link where it is.

    def _anonymous_target(self, nodes: Iterable[Node], t: datetime) -> str:
        for node in nodes:
            state = self.nodes.get(node)
            if state is not None:
                return self.canonical(state.profile_id)
        return self._new_profile(None, t)

    def _attach_anonymous(self, node: Node, target: str, ev: ValidEvent) -> str:
        state = self.nodes.get(node)
        if state is None or state.profile_id == target:
            self._link(node, target, ev.timestamp)
            return target
        holder = self.profiles[state.profile_id]
        mine = self.profiles[target]
        if not holder.identified:
            self._merge(holder.profile_id, target, node, ev)
        elif not mine.identified:
            self._merge(target, holder.profile_id, node, ev)
            target = holder.profile_id
        # Two identified people share this node: an anonymous event is no evidence for
        # moving it, so it stays with whoever was seen last.
        return self.canonical(target)
