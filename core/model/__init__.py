"""The platform's data model in plain Python: literal types, literals, interfaces, templates.

These classes mirror the messages of the ``wingspan.v1`` IDL name for name, so
:mod:`wingspan.core.model.codec` converts between the two without a table. They
exist because importing the generated protobuf code costs half a second, and the
SDK, compiler and local engine must stay cheap to start; messages are built only
when data crosses a process or is stored.

A proto ``oneof`` becomes two fields, ``kind`` (the name of the member that is
set, ``""`` for none) and ``value``.
"""

# its modules (imported on first use): the records of each are that module's __all__
__all__ = [
    "codec", "deliveries", "events", "execution", "execution_spec", "interface", "launch_plans",
    "literals", "mirrored", "progress", "projects", "record", "tasks", "wire", "workflows",
]
