"""One scratch volume per hyperparameter trial, with dynamic task mapping.

Each trial is a mapped task group with its own scratch volume: created as a setup, deleted
as a teardown. A trial that fails fails alone, and every volume is deleted all the same (the
default rates make the last of five trials diverge).
"""

from __future__ import annotations

from datetime import datetime

try:
    from airflow.sdk import DAG, Param, task, task_group
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task, task_group
    from airflow.models.param import Param

from neev_provider.operators import scratch_volume

with DAG(
    dag_id="neevcloud_fanout_trials",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["neevcloud", "example"],
    params={
        "conn_id": Param("neevcloud_default", type="string"),
        "region_id": Param("as-south-1", type="string"),
        "size_gb": Param(20, type="integer", minimum=1, maximum=1000),
        "learning_rates": Param(
            [0.0001, 0.0003, 0.001, 0.01, 0.1], type="array", description="One trial per rate"
        ),
    },
) as dag:

    @task
    def trial_configs(params: dict[str, object]) -> list[dict[str, float]]:
        """Return one configuration per trial, from the run's parameters."""
        rates = params["learning_rates"]
        assert isinstance(rates, list)
        return [{"learning_rate": float(rate)} for rate in rates]

    # [START howto_fanout]
    @task
    def run_trial(config: dict[str, float], volume_id: str) -> float:
        """Stand-in for one training trial on its own scratch volume."""
        if config["learning_rate"] >= 0.1:
            raise ValueError(f"learning rate {config['learning_rate']} diverged")
        return 1.0 - config["learning_rate"]

    @task_group
    def trial(config: dict[str, float]) -> None:
        with scratch_volume(
            size_gb="{{ params.size_gb }}",
            neev_conn_id="{{ params.conn_id }}",
            region_id="{{ params.region_id }}",
            deferrable=True,
            poll_interval=5,
        ) as volume:
            run_trial(config, volume.id)

    trial.expand(config=trial_configs())
    # [END howto_fanout]
