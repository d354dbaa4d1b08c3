"""The transports of the admin service: gRPC (grpclib) and HTTP/JSON (Litestar).

Both serve the same methods (:mod:`.methods`, read from the generated service) on
the same backend (:class:`~wingspan.server.api.backend.ApiBackend`: the service
layer plus the data proxy and the version). Transports only convert: their input
to the IDL request, the call, the IDL response back; errors are mapped in one
module per transport (:mod:`.grpc_errors`, :mod:`.http_errors`).
"""
