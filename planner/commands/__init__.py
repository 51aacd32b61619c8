"""One module per `python -m planner` sub-command."""
