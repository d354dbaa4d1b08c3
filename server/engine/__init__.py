"""The engine inside the server: claims created executions and runs them with the same
engine as local runs, the database as its state store and event sink."""
