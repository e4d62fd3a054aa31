"""The appvet review service: REST API, web UI, tokens, teams, approvals and an append-only audit log.

    create_app(Settings(...)) -> fastapi.FastAPI       see appvet.serve.app
    appvet serve / appvet users add|token|revoke       see appvet.serve.cli and docs/serve.md
"""
