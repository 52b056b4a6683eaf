"""factory-boy factories shared by the suite."""
