"""Who is calling, and what they may do: tokens, principals, roles, the authorization server.

:mod:`.principal` holds :class:`Principal` and the principal of the call in progress;
:mod:`.verifier` the :class:`TokenVerifier` protocol every way of checking a bearer token
implements (this server's own signed tokens, an external OIDC issuer's).
"""
