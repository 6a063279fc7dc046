"""An import-linter contract for what layers alone cannot say: no import circle between files
anywhere, and, among the rooms (folders and top-level modules) of each container, no strongly
connected group larger than `max_group` (`make lint` runs it; see ARCHITECTURE.md).

Every import counts: top-level, inside functions and under `if TYPE_CHECKING` (a reader
follows them all)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def strongly_connected(nodes: Iterable[str], edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


class ImportGroupsContract(Contract):
    """No circle between modules under `packages`; among the children of each of `containers`,
    no strongly connected group larger than `max_group`."""

    type_name = "import_groups"

    packages = fields.ListField(subfield=fields.StringField())
    containers = fields.ListField(subfield=fields.StringField())
    max_group = fields.IntegerField(minimum=1)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        """Find the module circles and the oversized room groups."""
        packages: list[str] = list(self.packages)  # type: ignore[call-overload]
        modules = {
            m for m in graph.modules if any(m == p or m.startswith(p + ".") for p in packages)
        }
        edges = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
        circles = strongly_connected(modules, edges)
        too_big: list[list[str]] = []
        limit: int = self.max_group  # type: ignore[assignment]
        for container in self.containers:  # type: ignore[attr-defined]
            rooms = graph.find_children(container)

            def room_of(module: str, rooms: set[str] = rooms, container: str = container) -> str:
                head = module.removeprefix(container + ".").split(".")[0]
                return f"{container}.{head}"

            room_edges: dict[str, set[str]] = {r: set() for r in rooms}
            for module, imported in edges.items():
                if not module.startswith(container + "."):
                    continue
                for other in imported:
                    if other.startswith(container + "."):
                        a, b = room_of(module), room_of(other)
                        if a != b:
                            room_edges[a].add(b)
            too_big += [g for g in strongly_connected(rooms, room_edges) if len(g) > limit]
        return ContractCheck(
            kept=not circles and not too_big,
            metadata={"circles": circles, "too_big": too_big, "limit": limit},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        """Name each circle and each group, so the arrow to turn round can be found."""
        for circle in check.metadata["circles"]:
            output.print_error(f"Modules importing each other in a circle: {', '.join(circle)}")
            output.new_line()
        for group in check.metadata["too_big"]:
            output.print_error(
                f"Rooms tied in one strongly connected group of {len(group)} "
                f"(more than {check.metadata['limit']}): {', '.join(group)}"
            )
            output.new_line()
