from tailored.cli.app import main

main()
