"""The server's handling as data: which message goes through which seed state, and why.

Diagrams (`dhcp6 fsm server`) and docs are drawn from these tables, and the engine
dispatches through :data:`HANDLING`, so the drawing cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..constants import MessageType as M

LISTEN = "Listen"


@dataclass(frozen=True, slots=True)
class Handling:
    msg: M
    seed: str  # the seed document's server state (DESIGN.md)
    reply: M | None  # what the server answers with
    handler: str  # ServerEngine method
    rfc: str  # section of RFC 9915
    note: str = ""


HANDLING: dict[M, Handling] = {
    h.msg: h
    for h in (
        Handling(M.SOLICIT, "Advertise", M.ADVERTISE, "_solicit", "§18.3.1",
                 "Reply instead, committed, when Rapid Commit is asked and enabled"),
        Handling(M.REQUEST, "Reply", M.REPLY, "_request", "§18.3.2", "commit resources"),
        Handling(M.CONFIRM, "Reply", M.REPLY, "_confirm", "§18.3.3",
                 "silent when it cannot tell"),
        Handling(M.RENEW, "Reply", M.REPLY, "_renew", "§18.3.4", "extend the binding"),
        Handling(M.REBIND, "Reply", M.REPLY, "_rebind", "§18.3.5",
                 "discarded when it would return nothing"),
        Handling(M.INFORMATION_REQUEST, "Reply", M.REPLY, "_information_request", "§18.3.6"),
        Handling(M.RELEASE, "Release", M.REPLY, "_release", "§18.3.7",
                 "remove resources if the binding is valid"),
        Handling(M.DECLINE, "Release", M.REPLY, "_decline", "§18.3.8",
                 "declined addresses held on probation"),
    )
}  # fmt: skip

#: Seed label when a Renew / Rebind / Information-request answers our Reconfigure.
RECONFIGURE_REPLY = "Reconfigure Reply"
RECONFIGURE_ANSWERS = frozenset({M.RENEW, M.REBIND, M.INFORMATION_REQUEST})


@dataclass(frozen=True, slots=True)
class Transition:
    source: str
    event: str
    target: str
    action: str = ""


def transitions() -> list[Transition]:
    """The server drawn as a state machine: Listen → seed state → Listen."""
    out: list[Transition] = []
    for h in HANDLING.values():
        name = h.msg.name.replace("_", "-")
        out.append(Transition(LISTEN, f"recv {name}", h.seed, h.note))
        if h.reply is not None:
            out.append(Transition(h.seed, f"send {h.reply.name}", LISTEN))
    out.append(Transition(LISTEN, "recv SOLICIT + Rapid Commit", "Reply", "commit, then Reply"))
    out.append(Transition(LISTEN, "admin reconfigure (one client)", "Reconfigure"))
    out.append(Transition(LISTEN, "admin reconfigure (--all / --subnet)", "Reconfigure Init"))
    out.append(Transition("Reconfigure", "send RECONFIGURE (REC_TIMEOUT, ×2, REC_MAX_RC)", LISTEN))
    out.append(Transition("Reconfigure Init", "send RECONFIGURE to each client", LISTEN))
    for m in ("RENEW", "REBIND", "INFORMATION-REQUEST"):
        out.append(Transition(LISTEN, f"recv {m} answering a Reconfigure", RECONFIGURE_REPLY))
    out.append(Transition(RECONFIGURE_REPLY, "send REPLY", LISTEN, "record, commit resources"))
    out.append(Transition(LISTEN, "malformed or invalid (§16)", LISTEN, "drop with a reason"))
    return out
