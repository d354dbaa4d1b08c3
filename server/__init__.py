"""Wingspan's control plane: services, persistence, transports, engine workers."""
