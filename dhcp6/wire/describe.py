"""Human-readable views of decoded messages: a tree for people, a summary for traces."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address
from typing import Any

from ..constants import INFINITY, MessageType, message_name, option_name
from ._fast import IP6_FAST
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
    OptionRun,
    Preference,
    ReconfigureAccept,
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


_TEXT: dict[int, str] = {}
_NAMES = {int(t): message_name(t) for t in MessageType}

_HEXTETS = struct.Struct("!8H")
_COLONED = ":%x:%x:%x:%x:%x:%x:%x:%x:"  # the hextets, each between colons
#: runs of two zero hextets or more, longest first (RFC 5952 §4.2.2: the longest run, the
#: first of equal ones, becomes ``::``)
_ZERO_RUNS = tuple(":" + ":".join("0" * k) + ":" for k in range(8, 1, -1))


def _v6_text(n: int) -> str:
    """``str(IPv6Address(n))`` for an unscoped address, without ipaddress's per-hextet
    Python loop (about a quarter of the cost); used only if a check at import finds it
    gives ``str`` exactly (see _V6_TEXT_OK)."""
    s = _COLONED % _HEXTETS.unpack(n.to_bytes(16, "big"))
    if ":0:0:" not in s:
        return s[1:-1]
    for run in _ZERO_RUNS:  # (the colons around each run keep it to whole hextets)
        i = s.find(run)
        if i >= 0:
            return s[1:i] + "::" + s[i + len(run) : -1]
    return s[1:-1]  # pragma: no cover - ":0:0:" is one of the runs


def _v6_text_ok() -> bool:
    """Whether _v6_text gives ``str(IPv6Address(n))`` for every shape of zero runs (each
    hextet zero or not: all 256) and a few addresses ipaddress might format apart."""
    samples = [sum((0x1000 * (i + 1) if m >> i & 1 else 0) << (112 - 16 * i) for i in range(8))
               for m in range(256)]  # fmt: skip
    samples += [int(IPv6Address(t)) for t in ("::ffff:192.0.2.1", "::192.0.2.1", "64:ff9b::1",
                                              "2002:c000:204::1", "fe80::1", "::1", "1::")]  # fmt: skip
    return all(_v6_text(n) == str(IPv6Address(n)) for n in samples)


_V6_TEXT_OK = _v6_text_ok()


def _address_text(a: IPv6Address) -> str:
    """``str(a)``, remembered by the address's integer: formatting an address costs about
    4 µs, and the same addresses come back in every Renew and Reply a trace summarises.
    A scoped address (``fe80::1%eth0``) is formatted each time (its text has the scope)."""
    if IP6_FAST:  # the slots ipaddress keeps (int() and .scope_id are Python calls)
        if a._scope_id is not None:  # type: ignore[attr-defined]
            return str(a)
        v = a._ip  # type: ignore[attr-defined]
    else:
        if a.scope_id is not None:
            return str(a)
        v = int(a)
    text = _TEXT.get(v)
    if text is None:
        if len(_TEXT) >= 1 << 18:
            _TEXT.clear()
        text = _TEXT[v] = _v6_text(v) if _V6_TEXT_OK else str(a)
    return text


if IP6_FAST:  # engines call it for every datagram's peer: the usual case in few steps

    def address_text(a: IPv6Address) -> str:
        """``str(a)``, remembered (see _address_text)."""
        if a._scope_id is None:  # type: ignore[attr-defined]
            text = _TEXT.get(a._ip)  # type: ignore[attr-defined]
            if text is not None:
                return text
        return _address_text(a)

else:  # pragma: no cover - ipaddress without the slots _fast.py checks
    address_text = _address_text


#: the text of an IA_NA holding one IA Address, by IAID and address (an integer): the
#: engines build their Renews' and Replies' IAs anew, with the same IAID and address
_NA_TEXT: dict[tuple[int, int], str] = {}
NA_TEXT_MAX = 1 << 17


def _ia_text(o: IaNa | IaPd | IaTa) -> str:
    """``na:IAID ADDR…`` / ``pd:IAID PREFIX/LEN…`` / ``ta:IAID``, then a failing status."""
    st = None
    c = type(o)
    if c is IaNa:
        opts = o.options
        if len(opts) == 1 and IP6_FAST and type(opts[0]) is IaAddress:
            ip = opts[0].address
            iaid = o.iaid
            # (an int IAID only: True == 1 as a key, but f"{True}" is not f"{1}")
            if ip._scope_id is None and type(iaid) is int:  # type: ignore[attr-defined]
                key = (iaid, ip._ip)  # type: ignore[attr-defined]
                text = _NA_TEXT.get(key)
                if text is None:
                    if len(_NA_TEXT) >= NA_TEXT_MAX:
                        _NA_TEXT.clear()
                    text = _NA_TEXT[key] = f"na:{iaid} {address_text(ip)}"
                return text
        text = f"na:{o.iaid}"
        for a in opts:
            if isinstance(a, IaAddress):
                text += " " + address_text(a.address)
            elif st is None and a.code == 13:  # the IA's first Status Code option
                st = a
    elif c is IaPd:
        text = f"pd:{o.iaid}"
        for p in o.options:
            if isinstance(p, IaPrefix):
                text += f" {address_text(p.prefix)}/{p.prefix_length}"
            elif st is None and p.code == 13:
                st = p
    else:
        text = f"ta:{o.iaid}"
        st = o.option(13)
    if isinstance(st, StatusOption) and st.status != 0:  # not st.ok (StatusCode.SUCCESS)
        text += f" {st.name}"
    return text


#: the last relay message summarised and its summary: a datagram that reaches several
#: engines (a multicast on a LAN with two servers) is decoded once, and summarised once
_last: tuple[AnyMessage | None, dict[str, Any]] = (None, {})

#: the last transaction id formatted and its text: the summaries of one exchange (sent,
#: received, answered, answer received) share it
_xid: tuple[int, str] = (-1, "")


#: the option classes a summary passes over, known by class (their code is none of IA_NA,
#: IA_TA, IA_PD, Status Code, Rapid Commit); any other option is looked at by its code
_SUMMARY_CODES = (3, 4, 13, 14, 25)
_KNOWN = (
    ClientId, ServerId, ElapsedTime, OptionRequest, Preference, Auth, ServerUnicast,
    InterfaceId, ReconfigureMessage, ReconfigureAccept, DnsServers, DomainList, IaAddress,
    IaPrefix, InformationRefreshTime, ClientLinkLayerAddress, SolMaxRt, InfMaxRt, RelayMsg,
)  # fmt: skip
_PASSED = frozenset(c for c in _KNOWN if c.code not in _SUMMARY_CODES)


def _option_fields(opts: tuple[Option, ...]) -> dict[str, Any]:
    """The fields ``opts`` add to a summary (not to be changed: a decode memo's OptionRun
    remembers them)."""
    out: dict[str, Any] = {}
    ia: list[str] = []
    st = None
    rapid = False
    for o in opts:  # one pass: the IAs, the first Status Code, Rapid Commit
        c = type(o)
        if c in _PASSED:
            continue
        if c is IaNa or c is IaPd or c is IaTa:
            ia.append(_ia_text(o))
            continue
        code = o.code  # (an IntEnum: each == is a generic comparison, hence the above)
        if code == 3 or code == 25 or code == 4:  # IA_NA, IA_PD, IA_TA
            if isinstance(o, (IaNa, IaPd, IaTa)):
                ia.append(_ia_text(o))
        elif code == 13:
            if st is None:
                st = o
        elif code == 14:
            rapid = True
    if ia:
        out["ia"] = ia
    if isinstance(st, StatusOption):
        out["status"] = st.name
    if rapid:
        out["rapid_commit"] = True
    return out


def summary(m: AnyMessage) -> dict[str, Any]:
    """Fields of a ``send``/``recv`` trace event describing a message (a new dict; its
    ``ia`` list may be shared with other summaries: not to be changed)."""
    global _last
    if type(m) is Message or not isinstance(m, RelayMessage):
        t = m.msg_type
        xt = xid_text(m.transaction_id)
        opts = m.options
        if type(opts) is OptionRun:  # the options a decode memo shares: worked out once
            fields = opts.fields  # type: ignore[attr-defined]
            if fields is None:
                fields = opts.fields = _option_fields(opts)  # type: ignore[attr-defined]
        else:  # built by an engine: new each time
            fields = _option_fields(opts)
        try:
            name = _NAMES[t]
        except KeyError:
            name = message_name(t)
        if fields:
            return {"msg": name, "xid": xt, **fields}
        return {"msg": name, "xid": xt}
    last = _last
    if last[0] is m:  # the same (immutable) object, held by _last so its id is not reused
        return dict(last[1])
    inner = m.innermost()
    out: dict[str, Any] = {
        "msg": m.name,
        "hops": len(m.levels()),
        "link": address_text(m.link_address),
    }
    if inner is not None:
        out["inner"] = summary(inner)
    _last = (m, out)
    return dict(out)


def xid_text(x: int) -> str:
    """A summary's ``xid``: ``f"{x:06x}"`` (made with %, the same text, cheaper), the last
    one made given again (see _xid)."""
    global _xid
    xid = _xid
    if x != xid[0]:
        xid = _xid = (x, "%06x" % x)  # noqa: UP031 - cheaper than the f-string
    return xid[1]


def duid_text(d: Duid | None) -> str | None:
    return None if d is None else d.hex()
