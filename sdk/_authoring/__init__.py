"""The authoring API: what user code calls to define tasks, workflows and launch plans
(interfaces, promises and the graph a workflow body builds, every kind of node).

Calling an entity outside a workflow runs it through the local runner (:mod:`wingspan._runner`),
the one package below this one in the SDK.
"""
