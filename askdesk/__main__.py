from askdesk.cli import main

main()
