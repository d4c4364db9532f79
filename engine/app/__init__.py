"""engine.app"""
