"""Deterministic simulator: the dhcp6 engines on a virtual clock and virtual links.

``lab sim FILE`` (lab/cli/sim.py) and the pytest handle :class:`~lab.sim.handle.SimLab`
run a topology — the same YAML files, through the same loader — without root, without
namespaces and without waiting: every engine instance (server, client, relay) is the
unmodified engine from dhcp6/engine/, and only the driver differs:

========================  ==============================  ==============================
                          namespace lab                   simulator
========================  ==============================  ==============================
time                      monotonic/wall clock × scale    a virtual clock (event queue)
datagrams                 UDP sockets, veths, bridges     :mod:`lab.sim.network`
client addresses          netlink (kernel)                ``address`` trace events
server leases             SQLite                          an in-memory store (kept
                                                          across stop/kill/start)
randomness                random.Random(seed or None)     seeded by ``--seed`` and names
========================  ==============================  ==============================

Modules: :mod:`~lab.sim.simulator` (queue, clock, node life, scenario runner),
:mod:`~lab.sim.nodes` (the drivers: what dhcp6.io.host.EngineHost and the daemons do),
:mod:`~lab.sim.network` (links, multicast, routing, impairment, partitions),
:mod:`~lab.sim.tracing` (the trace writer), :mod:`~lab.sim.handle` (SimLab, the
namespace ``Lab`` API), :mod:`~lab.sim.pytest_fixture` (``sim_lab``, ``sim_lab_factory``),
:mod:`~lab.sim.expect` (``expect:`` blocks), :mod:`~lab.sim.stepper` (``--step``),
:mod:`~lab.sim.summary`.

**The trace** is the namespace lab's: the same event kinds and fields, written by the
same rules (dhcp6.io.host.EngineHost: ``timer fired`` except quiet timers, ``timer
cancelled`` only for a pending timer, ``address added/removed`` for a client's kernel
changes; the daemons' start lines: a client's ``INIT→INIT`` with its link-local and
DUID, a server's and relay's ``LISTEN``). Two fields differ in meaning only:
``t`` is virtual seconds since the simulation began (epoch 0), and ``pt`` (protocol
seconds) is on every line and equal to ``t`` — the virtual clock *is* protocol time,
so readers that prefer ``pt`` when present (timer assertions, ladders) get the same
number as in a scaled namespace lab. Times are rounded to the microsecond.

**Determinism.** Events run in time order, ties in the order they were scheduled;
nothing reads the wall clock. ``--seed`` (any int or text) seeds every draw: each
interface's MAC (locally administered; its EUI-64 link-local follows, unique on the
link), so every DUID (DUID-LL of the node's MAC — servers too); each client's RAND and
xids (``random.Random(f"{seed}\\0{node}\\0rand")``, continued across restarts — except a
client with its own ``seed:`` option, which gets ``random.Random(seed)`` at every start
exactly as in the namespace lab, so both backends draw the same delays and xids); each
server's reconfigure keys; each link's loss and duplication draws. Same topology and
seed, same trace, byte for byte.

**Links** (see :mod:`lab.sim.network`): LAN multicast to the link's listeners
(``ff02::1:2``:547 → dhcp6-server nodes serving that interface and dhcp6-relay nodes),
unicast routed hop by hop by the model's connected prefixes and static routes through
routers and forwarding relays, a fixed 100 µs per hop, the link's ``impairment:``
(loss/duplicate percent, delay seconds) at the sending side and ``netem:`` steps to
change it over time, partitions as links (or NODE:IFACE) set down — clients on them get
``link_changed`` as from the kernel.

**Node life** mirrors lab/run/runtime.py: servers, then relays and routers, then
clients start at t = 0 (``autostart: false`` waits for a ``start:`` step); ``stop`` makes
a client Release (closed at the Reply, or after 2 s), ``kill`` drops the engine at once
(nothing sent); a server or relay stops at once either way; ``restart`` is stop then
start (a client keeps its DUID and IAIDs, a server its leases, keys and replay counter).

**Scenario and expect** follow lab/scenario.py: steps in (at, line) order, each at its
time or when the one before it is done; ``wait: {node: …}`` waits for an event of that
node (one from before counts), ``wait: 5s`` makes the scenario last 5 s longer; the
first failed step ends it. ``expect:`` is checked when the scenario is over, positive
checks awaited up to 30 s of protocol time.

**Not simulated:** real peers (kea, dnsmasq, dhclient, dhcpcd, wide-dhcp6c — refused
with one line naming the node: use ``lab up``), router advertisements (``ra:``), DAD,
and anything outside DHCPv6 (``lab exec``; ``ping`` is answered from the routes).
"""

from .nodes import SimError
from .simulator import Simulator
from .tracing import SimTrace

__all__ = ["SimError", "SimTrace", "Simulator"]
