"""Scene node types, one module each (a dataclass + its rules, registered with
engine.scene.registry.register_node). Import order is build order: labels follow the slabs."""
from engine.scene.nodes.slab import Pick, Slab
from engine.scene.nodes.edges import EdgeSet
from engine.scene.nodes.label import Label
from engine.scene.nodes.field import DecisionField
from engine.scene.nodes.cloud import PointCloud
from engine.scene.scene import Scene

__all__ = ["DecisionField", "EdgeSet", "Label", "Pick", "PointCloud", "Scene", "Slab"]
