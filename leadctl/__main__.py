from leadctl.cli.main import run

run()
