"""The service layer: the admin service of the IDL, with no transport code.

Services take and return ``wingspan.v1`` IDL messages (what both transports speak)
and raise the typed errors of :mod:`wingspan.core.errors`, which transports map:
NotFoundError -> not found, AlreadyExistsError -> already exists (a conflict),
FailedPreconditionError -> failed precondition, any UserError (InvalidArgumentError,
CompilationError) -> invalid argument. :class:`~wingspan.server.services.admin.AdminService`
gathers them under the IDL's method names.
"""
