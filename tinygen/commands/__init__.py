"""One module per `tinygen` command; each defines a click command named `command`."""
