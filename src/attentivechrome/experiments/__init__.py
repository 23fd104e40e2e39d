"""Many trainings at once: the runner and the commands built on it (``train-many``, ``benchmark``)."""
