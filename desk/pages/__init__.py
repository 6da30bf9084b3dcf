"""One module per page of the console; each adds its routes."""
