from appvet.serve.cli import serve_app

serve_app()
