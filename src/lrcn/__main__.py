from lrcn.cli import main

main()
