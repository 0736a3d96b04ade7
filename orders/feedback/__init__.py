"""What goes back to an institution about its orders: the wire values of decisions (`wire`)."""
