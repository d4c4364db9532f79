"""engine.layout"""
