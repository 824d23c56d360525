"""One folder per venue, each with the same file names (config, messages, a sans-I/O core,
errors, clients). A venue never imports another venue."""
