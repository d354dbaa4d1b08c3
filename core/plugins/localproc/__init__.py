"""The local-process target: task attempts in warm worker processes on this machine."""

# its modules; the target (LocalProcessTarget) is what the rest of Wingspan uses
__all__ = ["budget", "forkserver", "pool", "target", "worker", "zygote"]
