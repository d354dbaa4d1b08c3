"""The outward event stream: each stored execution, node and task event as a CloudEvent,
written to an outbox in the transaction that stores it (``outbox``), and published from
there to the configured sinks, at least once and in order per execution (``publisher``);
the built-in sink POSTs to a webhook (``webhook``), a plugin adds a broker."""
