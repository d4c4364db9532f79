"""engine.record"""
