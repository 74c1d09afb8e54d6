"""Runs Alerta's report job from Airflow.

`alerta report run` is safe to run as often and as concurrently as a scheduler likes: every
assignment is processed exactly once, and a run that fails is finished by the next one. A
non-zero exit fails the task, so Airflow's retries apply.

Copy this file into your DAGs folder and set ALERTA_DATA_DIR (local profile) or the
ALERTA_PROFILE=aws environment (AWS profile) on the worker.
"""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(
    dag_id="alerta_reports",
    description="Global report and per-assignment reports for departments",
    schedule=timedelta(minutes=15),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=1)},
) as dag:
    BashOperator(
        task_id="report_run",
        bash_command="alerta report run",
        env={"ALERTA_DATA_DIR": "{{ var.value.get('alerta_data_dir', '/var/lib/alerta/data') }}"},
        append_env=True,
    )
