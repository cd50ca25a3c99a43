from leadctl.cli.launch import run

run()
