"""The lab builder: a :class:`lab.model.Topology` into network namespaces (pyroute2-free
netlink, no ``ip`` shell-outs), owned by one lab, removable exactly.

::

    from lab.build import build, clean, list_labs, teardown

    lab = build(topology, "demo")          # namespaces demo-<node>, demo--<lan>
    lab.ns("c1")                           # "demo-c1"
    lab.teardown()                         # or teardown("demo") from any process
    clean()                                # labs whose owner process died: removed

Each node is a namespace ``<lab>-<node>``; each LAN a namespace ``<lab>--<link>`` with a
bridge ``br0``; veth ends are created directly in their namespaces (nothing in the root
namespace). IPv6 on, ``lo`` up, DAD off unless a node has ``dad: true`` (static
addresses are ``nodad`` always), forwarding on for ``router`` and ``dhcp6-relay`` nodes
(node option ``forwarding`` overrides), static addresses and the model's routes
installed, tx checksum offload off on every veth end (valid checksums in captures).

Ownership: a lab's state is its run directory ``<run_root>/<lab>/`` (default run root
``/run/dhcp6-lab``, or ``$DHCP6_LAB_RUN_ROOT``) — see :mod:`lab.build.state` for the
files and :mod:`lab.build.cleanup` for the removal rule.
"""

from __future__ import annotations

from .builder import BuiltLab, build
from .cleanup import clean, list_labs, teardown
from .errors import BuildError
from .state import DEFAULT_RUN_ROOT, LabInfo

__all__ = [
    "DEFAULT_RUN_ROOT",
    "BuildError",
    "BuiltLab",
    "LabInfo",
    "build",
    "clean",
    "list_labs",
    "teardown",
]
