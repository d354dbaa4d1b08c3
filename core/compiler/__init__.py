"""The compiler: workflow templates to validated, connected closures."""

from wingspan.core.compiler.closure import compile_workflow
from wingspan.core.compiler.typecheck import assignable, literal_fits

__all__ = ["assignable", "compile_workflow", "literal_fits"]
