"""State shared by the loader's phases while one topology is resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Interface
from pathlib import Path

from dhcp6.server_config import ServerConfig
from dhcp6.yamlmarks import Marked

from ..model import Link, Node
from ..schema import SpecError
from .errors import Problems
from .source import Doc


@dataclass
class NodeInfo:
    """What the loader knows about a node beyond the model: where things were written."""

    path: tuple  # ("nodes", name)
    option_paths: dict[str, tuple] = field(default_factory=dict)  # option → where it was set
    layers: list[tuple] = field(
        default_factory=list
    )  # doc paths: defaults.all, defaults.kind, node
    iface_paths: dict[str, tuple] = field(default_factory=dict)  # iface → its endpoint's path
    given: dict[str, list[IPv6Interface]] = field(default_factory=dict)  # iface → static addrs
    given_paths: dict[tuple[str, str], tuple] = field(default_factory=dict)  # (iface, addr) → path


@dataclass
class Ctx:
    doc: Doc
    problems: Problems
    base_dir: Path
    nodes: dict[str, Node] = field(default_factory=dict)  # nodes good enough to go on with
    names: set[str] = field(default_factory=set)  # every node name, bad kinds too
    broken: set[str] = field(default_factory=set)  # nodes with a bad option: skip checks
    info: dict[str, NodeInfo] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    link_paths: dict[str, tuple] = field(default_factory=dict)
    incomplete_links: set[str] = field(default_factory=set)  # an endpoint was rejected
    time_scale: float = 1.0
    time_scale_path: tuple = ("clock", "time_scale")
    # filled by the phases, read by later ones
    owner: dict[IPv6Address, tuple[str, str, tuple]] = field(default_factory=dict)  # static
    # address → (node, iface, where given); relay → [(address, %IF, node owning it)]
    relay_targets: dict[str, list[tuple[IPv6Address, str | None, str | None]]] = field(
        default_factory=dict
    )
    server_configs: dict[str, ServerConfig] = field(default_factory=dict)  # parsed, per node
    server_marked: dict[str, Marked] = field(default_factory=dict)  # for lines inside configs

    @property
    def source(self) -> str:
        return self.doc.source

    def err(self, path: tuple, problem: str, hint: str = "", *, at: tuple | None = None) -> None:
        """An error shown at ``path``; its line is that of ``at`` (default: ``path``)."""
        self.problems.add(self.doc.line(at if at is not None else path), path, problem, hint)

    def spec_err(self, path: tuple, e: SpecError) -> None:
        full = (*path, *e.subpath)
        self.err(full, e.problem, e.hint)

    def option_path(self, node: str, option: str) -> tuple:
        """Where ``node``'s ``option`` was written (the node itself if it is a default)."""
        info = self.info[node]
        return info.option_paths.get(option, info.path)
