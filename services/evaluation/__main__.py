"""`python -m services.evaluation`: the service's command line."""

from services.evaluation.main import cli

cli()
