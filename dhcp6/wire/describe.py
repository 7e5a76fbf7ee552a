"""Human-readable views of decoded messages: a tree for people, a summary for traces."""

from __future__ import annotations

from ipaddress import IPv6Address
from typing import Any

from ..constants import INFINITY, message_name, option_name
from .duid import Duid
from .message import AnyMessage, Message, RelayMessage, RelayMsg
from .options import (
    Auth,
    ClientId,
    ClientLinkLayerAddress,
    DnsServers,
    DomainList,
    ElapsedTime,
    IaAddress,
    IaNa,
    IaPd,
    IaPrefix,
    IaTa,
    InfMaxRt,
    InformationRefreshTime,
    InterfaceId,
    Option,
    OptionRequest,
    Preference,
    ReconfigureMessage,
    ServerId,
    ServerUnicast,
    SolMaxRt,
    StatusOption,
    UnknownOption,
)


def lifetime(v: int) -> str:
    return "infinity" if v == INFINITY else f"{v}s"


def _bytes(b: bytes) -> str:
    text = b.decode("ascii", "replace")
    return repr(text) if text.isprintable() and b.isascii() and b else b.hex() or "(empty)"


def option_text(o: Option) -> str:
    """One line for one option, without its sub-options."""
    head = f"{option_name(o.code)} ({o.code})"
    match o:
        case ClientId(duid) | ServerId(duid):
            return f"{head}: {duid}"
        case IaNa(iaid, t1, t2) | IaPd(iaid, t1, t2):
            return f"{head}: iaid={iaid} t1={lifetime(t1)} t2={lifetime(t2)}"
        case IaTa(iaid):
            return f"{head}: iaid={iaid} (obsolete in RFC 9915)"
        case IaAddress(addr, pref, valid):
            return f"{head}: {addr} preferred={lifetime(pref)} valid={lifetime(valid)}"
        case IaPrefix(pref, valid, plen, prefix):
            return f"{head}: {prefix}/{plen} preferred={lifetime(pref)} valid={lifetime(valid)}"
        case OptionRequest(codes):
            return f"{head}: " + ", ".join(f"{option_name(c)}({c})" for c in codes)
        case Preference(v):
            return f"{head}: {v}"
        case ElapsedTime(v):
            return f"{head}: {v / 100:.2f}s"
        case Auth(proto, alg, rdm, replay, info):
            return (
                f"{head}: protocol={proto} algorithm={alg} rdm={rdm} "
                f"replay={replay} info={info.hex()}"
            )
        case ServerUnicast(addr):
            return f"{head}: {addr} (obsolete in RFC 9915)"
        case StatusOption(code, message):
            return f"{head}: {o.name}({code})" + (f" {message!r}" if message else "")
        case InterfaceId(v):
            return f"{head}: {_bytes(v)}"
        case ReconfigureMessage(t):
            return f"{head}: {message_name(t)}"
        case DnsServers(servers):
            return f"{head}: " + ", ".join(map(str, servers))
        case DomainList(names):
            return f"{head}: " + ", ".join(names)
        case InformationRefreshTime(v) | SolMaxRt(v) | InfMaxRt(v):
            return f"{head}: {lifetime(v)}"
        case ClientLinkLayerAddress(lt, addr):
            return f"{head}: hw={lt} " + ":".join(f"{x:02x}" for x in addr)
        case RelayMsg():
            return head  # the relayed message follows as a subtree
        case UnknownOption(_, value):
            return f"{head}: {value.hex() or '(empty)'}"
    return head


def message_header(m: AnyMessage) -> str:
    if isinstance(m, RelayMessage):
        return (
            f"{m.name} hop-count={m.hop_count} link-address={m.link_address} "
            f"peer-address={m.peer_address}"
        )
    return f"{m.name} xid=0x{m.transaction_id:06x}"


def tree(m: AnyMessage, indent: str = "") -> list[str]:
    """The message as an indented tree; relayed messages are unwrapped level by level."""
    lines = [indent + message_header(m)]

    def walk(opts: tuple[Option, ...], pad: str) -> None:
        for i, o in enumerate(opts):
            last = i == len(opts) - 1
            lines.append(f"{pad}{'└─ ' if last else '├─ '}{option_text(o)}")
            child_pad = pad + ("   " if last else "│  ")
            if isinstance(o, RelayMsg):
                for line in tree(o.message):
                    lines.append(child_pad + line)
            elif hasattr(o, "options"):
                walk(o.options, child_pad)  # type: ignore[attr-defined]

    walk(m.options, indent)
    return lines


_TEXT: dict[IPv6Address, str] = {}


def address_text(a: IPv6Address) -> str:
    """``str(a)``, remembered: formatting an address costs microseconds, and the same
    addresses come back in every Renew and Reply a trace summarises."""
    text = _TEXT.get(a)
    if text is None:
        if len(_TEXT) >= 65536:
            _TEXT.clear()
        text = _TEXT[a] = str(a)
    return text


def _ia_summary(m: Message) -> list[str]:
    out: list[str] = []
    for o in m.options:
        if isinstance(o, IaNa):
            out.append(f"na:{o.iaid}" + "".join(" " + address_text(a.address) for a in o.addresses))
        elif isinstance(o, IaPd):
            out.append(
                f"pd:{o.iaid}"
                + "".join(f" {address_text(p.prefix)}/{p.prefix_length}" for p in o.prefixes)
            )
        elif isinstance(o, IaTa):
            out.append(f"ta:{o.iaid}")
        else:
            continue
        st = o.status
        if st is not None and not st.ok:
            out[-1] += f" {st.name}"
    return out


def summary(m: AnyMessage) -> dict[str, Any]:
    """Fields of a ``send``/``recv`` trace event describing a message."""
    if isinstance(m, RelayMessage):
        inner = m.innermost()
        out: dict[str, Any] = {
            "msg": m.name,
            "hops": len(m.levels()),
            "link": address_text(m.link_address),
        }
        if inner is not None:
            out["inner"] = summary(inner)
        return out
    out = {"msg": m.name, "xid": m.xid}
    ia = _ia_summary(m)
    if ia:
        out["ia"] = ia
    st = m.status
    if st is not None:
        out["status"] = st.name
    if m.rapid_commit:
        out["rapid_commit"] = True
    return out


def duid_text(d: Duid | None) -> str | None:
    return None if d is None else d.hex()
