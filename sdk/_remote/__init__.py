"""The remote client: :class:`~wingspan._remote.sync.Remote` over
:class:`~wingspan._remote.client.AsyncRemote`, which calls the server through one transport
(:mod:`wingspan._remote.transport`, the bottom of this package)."""
