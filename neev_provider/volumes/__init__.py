"""The volume lifecycle policies, without Airflow: creating once, waiting, cleaning up, reaping.

Operators, sensors and triggers call them; see docs/architecture.rst.
"""
