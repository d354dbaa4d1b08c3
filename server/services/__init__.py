"""The service layer: every rule of the admin service, with no transport code.

Services take and return core model records (:mod:`wingspan.core.model`) and small typed
dataclasses of their own where core has none; the IDL lives in the transports
(:mod:`wingspan.server.api.converters`) and nowhere in this package (``lint-imports``
checks it). Services raise the typed errors of :mod:`wingspan.core.errors`, whose classes
carry their status, which transports map.
"""
