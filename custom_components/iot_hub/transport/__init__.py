"""Transports: they authenticate peers, enforce limits and move frames to and from the hub."""
