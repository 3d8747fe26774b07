from databricks.bundles.jobs import Job, NotebookTask, Task

sample_job = Job(
    name="sample_job",
    tasks=[
        Task(task_key="notebook", notebook_task=NotebookTask(notebook_path="src/notebook.py")),
    ],
)
