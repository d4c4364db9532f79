"""engine.compute"""
