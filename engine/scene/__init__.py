"""Scene graph: plain data (numpy arrays, no GL) that the renderer mirrors and tests inspect."""
from engine.scene.camera import Camera
from engine.scene.nodes import DecisionField, EdgeSet, Label, Scene, Slab

__all__ = ["Camera", "DecisionField", "EdgeSet", "Label", "Scene", "Slab"]
