"""Registration: finding the entities in a folder or file, packing their code into a bundle,
and the requests that register them and everything they reach."""
