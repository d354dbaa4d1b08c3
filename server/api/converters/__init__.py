"""IDL messages to and from the service layer's types, one module per resource.

The services take and return core model records (and small dataclasses of their own);
the transports speak the IDL. What lies between is here and nowhere else: the model
records that mirror a message convert by name (:mod:`wingspan.core.model.codec`), the
rest field by field.
"""
