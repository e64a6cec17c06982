"""The stack's architecture diagram, derived from the evaluated resource graph: Mermaid and Graphviz."""

from .graph import Architecture, Edge, Group, Node, build
from .render import dot, mermaid

__all__ = ["Architecture", "Edge", "Group", "Node", "build", "dot", "mermaid"]
