"""The chaos suite: many volume lifecycles through the operators, under random faults and kills."""
