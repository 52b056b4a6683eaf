"""URL configurations of sites that install the apps wrongly, for the installation checks."""
