"""``python -m tests.k8s_agent [--node NAME ...]``: run the agent until interrupted.

Reads the apiserver's kubeconfig and PKI folder from WINGSPAN_KUBECONFIG and
WINGSPAN_KUBE_PKI (``eval "$(python -m scripts.testenv up kube)"`` sets them).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from pathlib import Path

from tests.k8s_agent.agent import NodeAgent


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    agent = NodeAgent(Path(args.kubeconfig), Path(args.pki), args.node or ["wingspan-node-1"],
                      remove_nodes_on_stop=not args.keep_nodes)
    async with agent:
        logging.info("agent ready for nodes %s", ", ".join(agent.node_names))
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.k8s_agent", description=__doc__)
    parser.add_argument("--kubeconfig", default=os.environ.get("WINGSPAN_KUBECONFIG"))
    parser.add_argument("--pki", default=os.environ.get("WINGSPAN_KUBE_PKI"))
    parser.add_argument("--node", action="append", help="a Node to play (repeatable)")
    parser.add_argument("--keep-nodes", action="store_true", help="leave the Nodes on exit")
    args = parser.parse_args()
    if not args.kubeconfig or not args.pki:
        parser.error("need --kubeconfig and --pki (or WINGSPAN_KUBECONFIG, WINGSPAN_KUBE_PKI)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
