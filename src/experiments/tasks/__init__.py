"""One module per task, each defining a `Task` (experiments.run.task: the contract and its defaults), and the
data readers that belong to the tasks (imdb_data, dates_data, sequence_data)."""
