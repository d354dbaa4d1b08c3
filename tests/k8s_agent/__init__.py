"""A node agent for the test kube-apiserver: it plays kubelet, running pods as processes.

Start it in-process (``async with NodeAgent(kubeconfig, pki_dir) as agent``) or as
``python -m tests.k8s_agent``. See agent.py for what it does and faults.py for the
failures it simulates on request.
"""

from tests.k8s_agent.agent import NodeAgent
from tests.k8s_agent.faults import ANNOTATION, EVICT_AFTER_ANNOTATION, Fault
from tests.k8s_agent.waits import wait_for_pod

__all__ = ["ANNOTATION", "EVICT_AFTER_ANNOTATION", "Fault", "NodeAgent", "wait_for_pod"]
