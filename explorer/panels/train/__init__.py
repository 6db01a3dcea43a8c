"""The Train tab: the run's form, the training child process, live curves and samples."""
