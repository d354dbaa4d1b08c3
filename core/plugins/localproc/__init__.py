"""The local-process target: task attempts in warm worker processes on this machine."""
