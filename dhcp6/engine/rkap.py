"""Reconfigure Key Authentication Protocol (RFC 9915 §20.4): pure functions, no I/O.

A server hands a client a 16-octet key in the Reply (AUTH type 1); later Reconfigure
messages carry AUTH type 2 with an HMAC-MD5 over the whole message, computed with the
HMAC field set to zero, and a replay counter that only ever grows (RDM 0, §20.3).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

from ..constants import (
    AUTH_ALGORITHM_HMAC_MD5,
    AUTH_PROTOCOL_RECONFIGURE_KEY,
    AUTH_RDM_MONOTONIC,
    RKAP_TYPE_HMAC,
    RKAP_TYPE_KEY,
    OptionCode,
)
from ..wire import Auth, Message

KEY_LENGTH = 16


def key_option(key: bytes, replay: int) -> Auth:
    """The AUTH option of a Reply that gives the client its reconfigure key."""
    if len(key) != KEY_LENGTH:
        raise ValueError("a reconfigure key is 16 octets")
    return Auth(AUTH_PROTOCOL_RECONFIGURE_KEY, AUTH_ALGORITHM_HMAC_MD5, AUTH_RDM_MONOTONIC, replay,
                bytes((RKAP_TYPE_KEY,)) + key)  # fmt: skip


def key_from(msg: Message) -> tuple[bytes, int] | None:
    """(key, replay counter) when the message carries an RKAP key option."""
    for o in msg.options_of(OptionCode.AUTH):
        assert isinstance(o, Auth)
        if (o.protocol, o.algorithm, o.rdm) == (AUTH_PROTOCOL_RECONFIGURE_KEY,
                                                AUTH_ALGORITHM_HMAC_MD5, AUTH_RDM_MONOTONIC) \
                and len(o.auth_info) == 1 + KEY_LENGTH and o.auth_info[0] == RKAP_TYPE_KEY:  # fmt: skip
            return o.auth_info[1:], o.replay_detection
    return None


def _with_auth(msg: Message, auth: Auth) -> Message:
    opts = tuple(auth if o.code == OptionCode.AUTH else o for o in msg.options)
    if not any(o.code == OptionCode.AUTH for o in msg.options):
        opts += (auth,)
    return replace(msg, options=opts)


def sign(msg: Message, key: bytes, replay: int) -> Message:
    """The Reconfigure with an AUTH type 2 option whose HMAC-MD5 covers the message."""
    blank = Auth(AUTH_PROTOCOL_RECONFIGURE_KEY, AUTH_ALGORITHM_HMAC_MD5, AUTH_RDM_MONOTONIC,
                 replay, bytes((RKAP_TYPE_HMAC,)) + bytes(16))  # fmt: skip
    unsigned = _with_auth(msg, blank)
    digest = hmac.new(key, unsigned.encode(), hashlib.md5).digest()
    return _with_auth(msg, replace(blank, auth_info=bytes((RKAP_TYPE_HMAC,)) + digest))


def verify(msg: Message, key: bytes) -> tuple[bool, int | None, str]:
    """(ok, replay counter, reason) for a received Reconfigure."""
    auths = [o for o in msg.options_of(OptionCode.AUTH) if isinstance(o, Auth)]
    if len(auths) != 1:
        return (
            False,
            None,
            "no authentication option" if not auths else "several authentication options",
        )
    a = auths[0]
    if (a.protocol, a.algorithm, a.rdm) != (AUTH_PROTOCOL_RECONFIGURE_KEY, AUTH_ALGORITHM_HMAC_MD5,
                                           AUTH_RDM_MONOTONIC):  # fmt: skip
        return False, a.replay_detection, "authentication is not RKAP with HMAC-MD5"
    if len(a.auth_info) != 17 or a.auth_info[0] != RKAP_TYPE_HMAC:
        return False, a.replay_detection, "RKAP option is not an HMAC-MD5 digest (type 2)"
    expected = sign(msg, key, a.replay_detection)
    want = next(o for o in expected.options if isinstance(o, Auth)).auth_info
    if not hmac.compare_digest(want, a.auth_info):
        return False, a.replay_detection, "HMAC-MD5 does not match our reconfigure key"
    return True, a.replay_detection, "authenticated"
