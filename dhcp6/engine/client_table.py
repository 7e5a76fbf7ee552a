"""The client's state machine as data: states, their seed labels, and every transition.

The engine moves only along these edges (it checks), diagrams are drawn from them, and
a test walks the engine through each one — so table, code and drawing agree.
"""

from __future__ import annotations

from dataclasses import dataclass

INIT = "INIT"
SOLICIT = "SOLICIT"
REQUEST = "REQUEST"
BOUND = "BOUND"
RENEW = "RENEW"
REBIND = "REBIND"
CONFIRM = "CONFIRM"
DECLINE = "DECLINE"
RELEASE = "RELEASE"
INFORMATION_REQUEST = "INFORMATION-REQUEST"
STOPPED = "STOPPED"

STATES = (
    INIT, SOLICIT, REQUEST, BOUND, RENEW, REBIND, CONFIRM, DECLINE, RELEASE,
    INFORMATION_REQUEST, STOPPED,
)  # fmt: skip

#: The seed document's vocabulary for each RFC 9915 state (DESIGN.md).
SEED = {
    INIT: "IPv6 Start",
    SOLICIT: "Solicit",
    REQUEST: "Request",
    RENEW: "Request",
    REBIND: "Request",
    CONFIRM: "Request",
    INFORMATION_REQUEST: "Request",
    BOUND: "IPv6 Address Timer",
    DECLINE: "IPv6 Address Timer",
    RELEASE: "IPv6 Address Timer",
    STOPPED: "IPv6 Start",
}
#: Label of a BOUND client that accepted Reconfigure and is listening for one.
RECONFIGURE = "Reconfigure"


@dataclass(frozen=True, slots=True)
class Transition:
    source: str
    event: str
    target: str
    rfc: str = ""


_T = Transition
TRANSITIONS: tuple[Transition, ...] = (
    _T(INIT, "start", SOLICIT, "§18.2.1 after a random delay up to SOL_MAX_DELAY"),
    _T(INIT, "start (stateless)", INFORMATION_REQUEST, "§18.2.6"),
    _T(SOLICIT, "first RT ended with Advertises", REQUEST, "§18.2.1 best Preference"),
    _T(SOLICIT, "Advertise with Preference 255", REQUEST, "§18.2.9"),
    _T(SOLICIT, "Advertise after the first RT", REQUEST, "§18.2.9"),
    _T(SOLICIT, "Reply with Rapid Commit", BOUND, "§18.2.10.1"),
    _T(REQUEST, "Reply with leases", BOUND, "§18.2.10.1"),
    _T(REQUEST, "Reply without leases", SOLICIT, "§18.2.10.1"),
    _T(REQUEST, "REQ_MAX_RC reached, next Advertise", REQUEST, "§18.2.2"),
    _T(REQUEST, "REQ_MAX_RC reached, no Advertise left", SOLICIT, "§18.2.2"),
    _T(BOUND, "T1", RENEW, "§18.2.4"),
    _T(BOUND, "T2", REBIND, "§18.2.5"),
    _T(BOUND, "valid lifetime of the last lease ended", SOLICIT, "§18.2.10.1"),
    _T(BOUND, "link up after down", CONFIRM, "§18.2.3"),
    _T(BOUND, "duplicate address detected", DECLINE, "§18.2.8"),
    _T(BOUND, "stop", RELEASE, "§18.2.7"),
    _T(BOUND, "information refresh time", INFORMATION_REQUEST, "§18.2.12"),
    _T(BOUND, "stop (no leases: stateless)", STOPPED),
    _T(BOUND, "Reconfigure (renew)", RENEW, "§18.2.11 authenticated (RKAP)"),
    _T(BOUND, "Reconfigure (rebind)", REBIND, "§18.2.11 authenticated (RKAP)"),
    _T(BOUND, "Reconfigure (information-request)", INFORMATION_REQUEST, "§18.2.11"),
    _T(RENEW, "Reply", BOUND, "§18.2.10.1"),
    _T(RENEW, "Reply removed every lease", SOLICIT, "§18.2.10.1"),
    _T(REBIND, "Reply removed every lease", SOLICIT, "§18.2.10.1"),
    _T(RENEW, "Reply with NoBinding", REQUEST, "§18.2.10.1"),
    _T(RENEW, "T2", REBIND, "§18.2.4 MRD is the time until T2"),
    _T(RENEW, "stop", RELEASE, "§18.2.7"),
    _T(RENEW, "valid lifetime of the last lease ended", SOLICIT, "§18.2.10.1"),
    _T(REBIND, "Reply", BOUND, "§18.2.10.1"),
    _T(REBIND, "Reply with NoBinding", REQUEST, "§18.2.10.1"),
    _T(REBIND, "valid lifetime of the last lease ended", SOLICIT, "§18.2.5"),
    _T(REBIND, "stop", RELEASE, "§18.2.7"),
    _T(CONFIRM, "Reply Success", BOUND, "§18.2.10.3"),
    _T(CONFIRM, "Reply NotOnLink", SOLICIT, "§18.2.10.3"),
    _T(CONFIRM, "no Reply within CNF_MAX_RD", BOUND, "§18.2.3"),
    _T(CONFIRM, "stop", RELEASE, "§18.2.7"),
    _T(DECLINE, "Reply or DEC_MAX_RC, leases left", BOUND, "§18.2.10.2"),
    _T(DECLINE, "Reply or DEC_MAX_RC, no lease left", SOLICIT, "§18.2.10.2"),
    _T(RELEASE, "Reply or REL_MAX_RC", STOPPED, "§18.2.10.2"),
    _T(INFORMATION_REQUEST, "Reply", BOUND, "§18.2.10.4 options configured"),
    _T(SOLICIT, "stop", STOPPED),
    _T(REQUEST, "stop", STOPPED),
    _T(INFORMATION_REQUEST, "stop", STOPPED),
    _T(INIT, "stop", STOPPED),
    _T(DECLINE, "stop", STOPPED),
)

ALLOWED = frozenset((t.source, t.target) for t in TRANSITIONS)
