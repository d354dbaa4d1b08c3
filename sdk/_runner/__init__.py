"""The local runner: a workflow, task or launch plan run through the engine in this process
(or in local worker processes), with the plugins, cache and store of this machine.

It knows entities only by what it reads of them (their closure, interface and entities), so it
sits below the authoring API, which calls it.
"""
