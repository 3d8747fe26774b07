"""The Jobs API 2.2 surface: the documents it answers with (`documents`, `outputs`,
`access_documents`) and the REST server that serves them (`app.create_app`, `routes/`).

`app` imports FastAPI; the service imports only the documents, so the command line and the
engine never load the web stack.
"""
