from smsworker.cli import main

main()
