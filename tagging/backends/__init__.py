"""Detector backends: base.py holds the contract, one module per implementation."""
