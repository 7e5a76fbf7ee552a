"""Benchmark: the dhcp6.wire codec against scapy's DHCPv6 layer, on the same bytes.

Run ``.venv/bin/python bench/codec.py`` (``--quick`` for a smoke run, ``--help`` for options).
This is a benchmark, not a test; scapy is used here only as the yardstick.

Two messages are measured:

* ``request``: a realistic Request — Client-ID (DUID-LLT), Server-ID (DUID-EN), IA_NA with
  one IAADDR, IA_PD with one IAPREFIX, ORO (23, 24, 82), Elapsed Time;
* ``relay-forward-4``: a Relay-forward relayed through 4 relay agents (4 nested relay
  headers, each with an Interface-ID), the innermost carrying a Solicit.

For each, per message, in microseconds:

* ours:  ``decode``: ``dhcp6.wire.decode(wire)``;
         ``encode``: ``msg.encode()`` of the decoded message (nothing is cached: every call
         re-serialises every option);
         ``both``:   ``decode(wire).encode()``.
* scapy: ``parse``:  ``DHCP6_Request(wire)`` / ``DHCP6_RelayForward(wire)``;
         ``build``:  ``bytes(pkt)`` of a parsed packet whose raw-packet caches were dropped;
         ``both``:   parse, drop the caches, ``bytes()``.

How scapy is made to really build: a dissected scapy packet keeps, per layer, the octets
it was parsed from (``raw_packet_cache``) and ``bytes(pkt)`` hands those back without
building anything (``Packet.copy()`` copies that cache too). ``Packet.clear_cache()`` drops
it on every layer, including the packets held in fields (option lists, the relayed message,
DUIDs); building does not fill it again, so every ``bytes(pkt)`` in the loop re-serialises
all fields. The script asserts all caches are empty before and after timing, and that
changing a field of the cleared packet changes its bytes.

Before timing it asserts that both libraries produce the identical bytes: our encoding of
the model, our decode+encode round trip, and scapy's parse+rebuild are all equal.

Timing: ``time.perf_counter`` around a loop of N calls (garbage collector off during the
loop, as ``timeit`` does); N is scaled so one repeat takes about target/repeats seconds
(``--target``, default 1 s per measurement), and the best of the repeats (default 5) is
reported; the repeats run round-robin over all measurements. The last line says whether
our decode+encode is at least 30 times as fast as scapy's parse+build on every case.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import platform
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

# Running as ``python bench/codec.py`` puts bench/ first on sys.path, not the repository.
_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

import scapy  # noqa: E402
from scapy.layers.dhcp6 import (  # noqa: E402
    DHCP6_RelayForward,
    DHCP6_Request,
    DHCP6OptElapsedTime,
)
from scapy.packet import NoPayload, Packet, Raw  # noqa: E402

from dhcp6 import accel  # noqa: E402
from dhcp6.constants import MessageType  # noqa: E402
from dhcp6.wire import (  # noqa: E402
    AnyMessage,
    ClientId,
    DuidEN,
    DuidLLT,
    ElapsedTime,
    IaAddress,
    IaNa,
    IaPd,
    IaPrefix,
    InterfaceId,
    Message,
    OptionRequest,
    RapidCommit,
    RelayMessage,
    RelayMsg,
    ServerId,
    decode,
)

TARGET_RATIO = 30.0

CLIENT_DUID = DuidLLT(1, 0x2F1E5A80, bytes.fromhex("00163e123456"))
SERVER_DUID = DuidEN(32473, bytes.fromhex("0c0ffee0d00dfeed"))


def request() -> Message:
    return Message(
        MessageType.REQUEST,
        0xABCDEF,
        (
            ClientId(CLIENT_DUID),
            ServerId(SERVER_DUID),
            IaNa(
                0x0C0FFEE0,
                1800,
                2880,
                (IaAddress(IPv6Address("2001:db8:0:1::1:10"), 3600, 7200),),
            ),
            IaPd(0xBEEF, 1800, 2880, (IaPrefix(3600, 7200, 56, IPv6Address("2001:db8:ff00::")),)),
            OptionRequest((23, 24, 82)),
            ElapsedTime(0),
        ),
    )


def relay_forward_4() -> RelayMessage:
    inner: Message | RelayMessage = Message(
        MessageType.SOLICIT,
        0x3A1B2C,
        (
            ClientId(CLIENT_DUID),
            ElapsedTime(0),
            IaNa(0x0C0FFEE0),
            IaPd(0xBEEF),
            OptionRequest((23, 24, 82)),
            RapidCommit(),
        ),
    )
    # Relay 1 (next to the client, hop count 0) is the innermost header; relay 4 outermost.
    # Relay 1 names the client's link and the client; relay n > 1 the relay below it (and
    # link-address :: since it identifies the link by Interface-ID).
    for level in range(4):
        if level == 0:
            link, peer = IPv6Address("2001:db8:1::1"), IPv6Address("fe80::216:3eff:fe12:3456")
        else:
            link, peer = IPv6Address("::"), IPv6Address(f"2001:db8:{level}::1")
        inner = RelayMessage(
            MessageType.RELAY_FORW,
            level,
            link,
            peer,
            (InterfaceId(f"relay{level + 1}-port{level + 7}".encode()), RelayMsg(inner)),
        )
    assert isinstance(inner, RelayMessage)
    return inner


@dataclass(frozen=True)
class Case:
    name: str
    message: AnyMessage
    scapy_cls: type[Packet]


CASES = [
    Case("request", request(), DHCP6_Request),
    Case("relay-forward-4", relay_forward_4(), DHCP6_RelayForward),
]


# --------------------------------------------------------------------------- scapy helpers
def scapy_layers(pkt: Packet) -> Iterator[Packet]:
    """Every layer of a scapy packet: payloads and the packets held in fields."""
    p = pkt
    while not isinstance(p, NoPayload):
        yield p
        for f in p.fields_desc:
            if f.holds_packets:
                v = p.getfieldval(f.name)
                for sub in v if isinstance(v, list) else [v]:
                    if isinstance(sub, Packet):
                        yield from scapy_layers(sub)
        p = p.payload


def scapy_parse_cleared(cls: type[Packet], wire: bytes) -> Packet:
    """Parse and drop the raw-packet caches, so ``bytes()`` must rebuild from the fields."""
    pkt = cls(wire)
    pkt.clear_cache()
    return pkt


def scapy_roundtrip(cls: type[Packet], wire: bytes) -> bytes:
    pkt = cls(wire)
    pkt.clear_cache()
    return bytes(pkt)


def ours_roundtrip(wire: bytes) -> bytes:
    return decode(wire).encode()


def assert_no_cache(pkt: Packet) -> None:
    cached = [type(x).__name__ for x in scapy_layers(pkt) if x.raw_packet_cache is not None]
    assert not cached, f"scapy layers still cached: {cached}"


def verify(case: Case) -> tuple[bytes, AnyMessage, Packet]:
    """Both libraries must agree on the bytes before anything is timed."""
    wire = case.message.encode()
    msg = decode(wire)
    assert msg == case.message, "our decode does not give back the model"
    assert msg.encode() == wire, "our decode+encode changes the bytes"

    pkt = case.scapy_cls(wire)
    undecoded = [type(x).__name__ for x in scapy_layers(pkt) if isinstance(x, Raw)]
    assert not undecoded, f"scapy left octets undecoded ({undecoded})"
    pkt.clear_cache()
    assert_no_cache(pkt)
    assert bytes(pkt) == wire, "scapy's rebuild differs from our bytes"
    assert_no_cache(pkt)  # building did not fill the caches again
    assert scapy_roundtrip(case.scapy_cls, wire) == wire

    # Proof that bytes(pkt) is built from the fields, down to the innermost layer: change
    # the (innermost) Elapsed Time and the bytes change accordingly.
    probe = pkt.copy()
    elapsed = [x for x in scapy_layers(probe) if isinstance(x, DHCP6OptElapsedTime)][-1]
    elapsed.elapsedtime = 0xBEEF
    changed = bytes(probe)
    diff = [i for i, (a, b) in enumerate(zip(changed, wire, strict=True)) if a != b]
    assert diff and len(diff) <= 2, "scapy did not rebuild the changed field"
    return wire, msg, pkt


# --------------------------------------------------------------------------- timing
def _loop(fn: Callable[[Any], Any], arg: Any, n: int) -> float:
    it = itertools.repeat(arg, n)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for a in it:
            fn(a)
        return time.perf_counter() - t0
    finally:
        if gc_was_enabled:
            gc.enable()


@dataclass
class Measurement:
    """One timed operation: ``fn(arg)`` called ``n`` times per repeat."""

    fn: Callable[[Any], Any]
    arg: Any
    n: int = 1
    best: float = float("inf")  # seconds per call

    def calibrate(self, per_repeat: float) -> None:
        """Pick ``n`` so one repeat takes about ``per_repeat`` seconds."""
        n = 1
        while True:
            t = _loop(self.fn, self.arg, n)
            if t >= per_repeat / 10 or n >= 10_000_000:
                break
            n *= 10
        self.n = max(1, round(n * per_repeat / max(t, 1e-9)))

    def repeat_once(self) -> None:
        self.best = min(self.best, _loop(self.fn, self.arg, self.n) / self.n)


@dataclass
class Result:
    name: str
    size: int
    ours: tuple[Measurement, Measurement, Measurement]  # decode, encode, both
    scapy: tuple[Measurement, Measurement, Measurement]  # parse, build, both

    def ours_us(self) -> tuple[float, ...]:
        return tuple(m.best * 1e6 for m in self.ours)

    def scapy_us(self) -> tuple[float, ...]:
        return tuple(m.best * 1e6 for m in self.scapy)

    def ratios(self) -> tuple[float, ...]:
        return tuple(s.best / o.best for s, o in zip(self.scapy, self.ours, strict=True))


def prepare(case: Case) -> tuple[Result, Packet, bytes]:
    wire, msg, cleared = verify(case)
    cls = case.scapy_cls

    def scapy_both(w: bytes) -> bytes:
        return scapy_roundtrip(cls, w)

    ours = (
        Measurement(decode, wire),
        Measurement(type(msg).encode, msg),
        Measurement(ours_roundtrip, wire),
    )
    theirs = (Measurement(cls, wire), Measurement(bytes, cleared), Measurement(scapy_both, wire))
    return Result(case.name, len(wire), ours, theirs), cleared, wire


def run(target: float, repeats: int) -> list[Result]:
    """Calibrate every measurement, then run the repeats round-robin over all of them.

    Interleaving spreads slow phases of a noisy machine over every measurement instead of
    letting them land on one, which keeps the ratios steadier than measuring one at a time.
    """
    prepared = [prepare(c) for c in CASES]
    measurements = [m for r, _, _ in prepared for m in (*r.ours, *r.scapy)]
    for m in measurements:
        m.calibrate(target / repeats)
    for _ in range(repeats):
        for m in measurements:
            m.repeat_once()
    for _, cleared, wire in prepared:
        assert_no_cache(cleared)  # scapy was still rebuilding on the last iteration
        assert bytes(cleared) == wire
    return [r for r, _, _ in prepared]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/codec.py",
        description="Time dhcp6.wire decode/encode against scapy parse/build on the same "
        "DHCPv6 bytes (a Request and a 4-level Relay-forward).",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: ~0.02 s per measurement, 2 repeats (numbers are rough)",
    )
    ap.add_argument(
        "--target",
        type=float,
        default=None,
        metavar="SECONDS",
        help="time per measurement, split over the repeats (default 1.0)",
    )
    ap.add_argument(
        "--repeat", type=int, default=None, help="repeats per measurement, best kept (default 5)"
    )
    args = ap.parse_args(argv)
    target = args.target if args.target is not None else (0.02 if args.quick else 1.0)
    repeats = args.repeat if args.repeat is not None else (2 if args.quick else 5)
    if target <= 0 or repeats < 1:
        ap.error("--target must be > 0 and --repeat >= 1")

    print(
        f"dhcp6.wire vs scapy {scapy.VERSION} — Python {platform.python_version()}, "
        f"best of {repeats}, ~{target:g} s per measurement{' (quick)' if args.quick else ''}"
    )
    print("both libraries verified to produce identical bytes for every case")
    print(f"ours: {accel.describe_loaded()}")
    results = run(target, repeats)

    head = (
        f"{'case':<16} {'bytes':>5} | {'ours µs/msg':^26} | {'scapy µs/msg':^26} "
        f"| {'ratio scapy/ours':^22}"
    )
    sub = (
        f"{'':<16} {'':>5} | {'decode':>8}{'encode':>9}{'both':>9} "
        f"| {'parse':>8}{'build':>9}{'both':>9} | {'dec':>6}{'enc':>8}{'both':>8}"
    )
    print(head)
    print(sub)
    print("-" * len(sub))
    for r in results:
        d, e, b = r.ours_us()
        p, bl, sb = r.scapy_us()
        rd, re_, rb = r.ratios()
        print(
            f"{r.name:<16} {r.size:>5} | {d:>8.2f}{e:>9.2f}{b:>9.2f} "
            f"| {p:>8.1f}{bl:>9.1f}{sb:>9.1f} | {rd:>5.1f}×{re_:>7.1f}×{rb:>7.1f}×"
        )
    print()
    for r in results:
        rd, re_, rb = r.ratios()
        print(
            f"ratio scapy/ours {r.name}: decode {rd:.1f}×, encode {re_:.1f}×, "
            f"decode+encode {rb:.1f}×"
        )
    worst = min(results, key=lambda r: r.ratios()[2])
    min_ratio = worst.ratios()[2]
    min_any = min(min(r.ratios()) for r in results)
    verdict = "MET" if min_ratio >= TARGET_RATIO else "NOT MET"
    print(
        f"target ≥ {TARGET_RATIO:g}× faster than scapy: {verdict} "
        f"(min ratio {min_ratio:.1f}× decode+encode on {worst.name}; "
        f"min of any single direction {min_any:.1f}×)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
