"""``foresight bench rca``: root-cause ranking from metrics and topology on labelled fault data."""
