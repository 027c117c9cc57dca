"""Decode the ``security.capability`` xattr (struct vfs_cap_data) into getcap-style text."""

from __future__ import annotations

import struct

# linux/capability.h, in bit order
CAP_NAMES = (
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
    "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
    "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
    "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
    "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
    "checkpoint_restore",
)
_EFFECTIVE = 0x000001
_REVISION_MASK = 0xFF000000


def decode(value: bytes) -> dict[str, object] | None:
    """``{"text": "cap_net_bind_service=ep", "permitted": [...], ...}``; None if malformed."""
    if len(value) < 12:
        return None
    magic, = struct.unpack_from("<I", value)
    revision = magic & _REVISION_MASK
    words = {0x01000000: 1, 0x02000000: 2, 0x03000000: 2}.get(revision)
    if words is None or len(value) < 4 + 8 * words:
        return None
    permitted = inheritable = 0
    for i in range(words):
        p, inh = struct.unpack_from("<II", value, 4 + 8 * i)
        permitted |= p << (32 * i)
        inheritable |= inh << (32 * i)
    effective = bool(magic & _EFFECTIVE)
    result: dict[str, object] = {
        "permitted": _names(permitted), "inheritable": _names(inheritable), "effective": effective,
    }
    if revision == 0x03000000 and len(value) >= 24:
        result["rootid"] = struct.unpack_from("<I", value, 20)[0]
    result["text"] = _text(_names(permitted), _names(inheritable), effective)
    return result


def _names(bits: int) -> list[str]:
    return [f"cap_{name}" for i, name in enumerate(CAP_NAMES) if bits >> i & 1] + \
           [f"cap_{i}" for i in range(len(CAP_NAMES), 64) if bits >> i & 1]


def _text(permitted: list[str], inheritable: list[str], effective: bool) -> str:
    parts = []
    if permitted:
        both = bool(inheritable) and set(inheritable) >= set(permitted)
        parts.append(",".join(permitted) + "=" + ("e" if effective else "") + ("i" if both else "") + "p")
    extra = [c for c in inheritable if c not in permitted]
    if extra:
        parts.append(",".join(extra) + "=i")
    return " ".join(parts)
