"""``python -m wingspan.cli``: the command line, as pods and worker processes start it."""

from wingspan.cli import main

main()
